package org.atlas4j.spark.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.io.Json;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.RunConfig;
import org.atlas4j.spark.DistributedCollectTest;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster on 127.0.0.1, started from the Spark jars on the test classpath: a Master and
 * Worker JVMs (one core each), the test JVM as the driver. Collect on the demo slice of Fashion-MNIST must equal the
 * local collect byte for byte, also when a worker is killed in the middle of a slice.
 */
@org.atlas4j.IntegrationTest
// a cluster that cannot start executors retries forever: fail instead (the whole test takes 5-7 min here under load)
@org.junit.jupiter.api.Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkClusterIT {
    static final int IMAGES = 3000;

    @TempDir
    static Path tmp;
    static Path local;
    static String master;
    static int webUi;
    static final List<Process> processes = new ArrayList<>();
    static Process killable;
    static Path home;

    @BeforeAll
    static void startClusterAndCollectLocally() throws Exception {
        Progress.setQuiet(true);
        Assumptions.assumeTrue(Files.exists(DistributedCollectTest.DEMO_MODEL), "demo model absent");
        Assumptions.assumeTrue(FashionMnist.isPresent(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        long t0 = System.nanoTime();
        AtlasRun run = new AtlasRun(config("local"));
        run.collect(true);
        local = run.stageDir("collect");
        System.out.printf("local collect of %d images: %.1f s%n", IMAGES, (System.nanoTime() - t0) / 1e9);

        // a Spark distribution's layout: the Worker builds executor command lines from SPARK_HOME/jars
        // outside the @TempDir: JUnit warns about every symbolic link it deletes
        home = Files.createTempDirectory("atlas4j-spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (e.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        int port = freePort();
        webUi = freePort();
        master = "spark://127.0.0.1:" + port;
        t0 = System.nanoTime();
        start(home, "master", null, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(port), "--webui-port", String.valueOf(webUi));
        start(home, "worker-a", null, worker(home, "a"));
        // this worker's executors stop at their second batch (KillPoint) and wait there to be killed
        killable = start(home, "worker-k", "-Datlas4j.test.killAt=collect.batch@shard#2 -Datlas4j.test.killMarker="
                + tmp.resolve("killed-here"), worker(home, "k"));
        awaitWorkers(2);
        // six slices, and the job starts only when both workers' executors are there (so each gets slices)
        System.setProperty("atlas4j.spark.slice", "512");
        System.setProperty("spark.cores.max", "2");
        System.setProperty("spark.scheduler.minRegisteredResourcesRatio", "1.0");
        System.out.printf("master and two workers up: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static RunConfig config(String name) {
        RunConfig c = new RunConfig();
        c.name = name;
        c.output = tmp.resolve("runs").toString();
        c.model = DistributedCollectTest.DEMO_MODEL.toString();
        c.data.limit = IMAGES;
        return c;
    }

    static String[] worker(Path home, String name) throws IOException {
        return new String[] {"org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port",
                String.valueOf(freePort()), "--cores", "1", "--memory", "1g", "--webui-port", String.valueOf(freePort()),
                "--work-dir", Files.createDirectories(home.resolve("work-" + name)).toString(), master};
    }

    static Process start(Path home, String log, String toolOptions, String... mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(mainAndArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(log + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.remove("JAVA_TOOL_OPTIONS");
        if (toolOptions != null) env.put("JAVA_TOOL_OPTIONS", toolOptions); // inherited by the worker's executors
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** Waits until the master's status page lists {@code n} workers ALIVE that are still running. */
    static void awaitWorkers(int n) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + 240_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                last = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webUi + "/json/")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                var workers = Json.MAPPER.readTree(last).path("workers");
                int alive = 0;
                for (var w : workers) if ("ALIVE".equals(w.path("state").asText()) && live(w.path("port").asInt())) alive++;
                if (alive >= n) return;
            } catch (IOException e) {
                last = e.toString(); // the master's page is not up yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the standalone cluster did not get " + n + " workers in 240 s; master says: " + last);
    }

    /** A worker the master still lists after it was killed does not count. */
    static boolean live(int port) {
        try (var s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static Path sparkCollect(String name) throws Exception {
        AtlasRun run = new AtlasRun(config(name));
        long t0 = System.nanoTime();
        run.collectWith(org.atlas4j.spark.DistributedCollect.engine(master)).collect(true);
        System.out.printf("Spark collect '%s' of %d images: %.1f s%n", name, IMAGES, (System.nanoTime() - t0) / 1e9);
        return run.stageDir("collect");
    }

    @Test
    @Order(1)
    void aWorkerKilledInTheMiddleOfASliceStillGivesTheLocalResult() throws Exception {
        Path marker = tmp.resolve("killed-here");
        Thread killer = new Thread(() -> {
            try {
                while (!Files.exists(marker)) Thread.sleep(200);
                // the executor is mid-slice (a batch written, the shard not yet published): kill it and its worker
                killable.descendants().forEach(ProcessHandle::destroyForcibly);
                killable.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        killer.setDaemon(true);
        killer.start();
        Path dir = sparkCollect("killed");
        assertTrue(Files.exists(marker), "the killable worker's executor never reached its kill point: nothing was killed");
        assertTrue(!killable.isAlive(), "the worker was not killed");
        DistributedCollectTest.assertSameCollect(local, dir);
    }

    @Test
    @Order(2)
    void twoWorkersGiveTheLocalResultByteForByte() throws Exception {
        start(home, "worker-b", null, worker(home, "b"));
        awaitWorkers(2);
        DistributedCollectTest.assertSameCollect(local, sparkCollect("cluster"));
    }

    @AfterAll
    static void stopCluster() {
        for (String k : List.of("atlas4j.spark.slice", "spark.cores.max", "spark.scheduler.minRegisteredResourcesRatio")) {
            System.clearProperty(k);
        }
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        try {
            if (home != null) {
                // each executor's own rate, for the README's cluster plan ("collect relu3: 512 img in 2.1 s (...)")
                try (var files = Files.walk(home)) {
                    for (Path f : files.filter(f -> f.getFileName().toString().equals("stderr")).sorted().toList()) {
                        for (String line : Files.readAllLines(f)) {
                            if (line.matches("collect \\S+: .* img in .*")) System.out.println(home.relativize(f) + ": " + line);
                        }
                    }
                }
            }
            if (home != null) org.atlas4j.spark.SliceCollect.deleteTree(home); // the links, not the jars they point at
        } catch (IOException e) {
            System.err.println("could not remove " + home + ": " + e);
        }
    }
}
