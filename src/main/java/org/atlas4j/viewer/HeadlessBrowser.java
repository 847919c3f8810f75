package org.atlas4j.viewer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.atlas4j.io.Json;
import org.atlas4j.util.UserError;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Headless Chromium driven over the DevTools protocol with the JDK's own HTTP and WebSocket clients (no Selenium, no
 * Node): open a page, evaluate script, send real mouse and key events, take screenshots. Used by the viewer's browser
 * test and by {@code ./atlas viewer --screenshot}.
 */
public final class HeadlessBrowser implements AutoCloseable {
    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    /** The Chromium binary: $CHROMIUM, else Debian's /usr/bin/chromium, else null. */
    public static Path find() {
        for (String c : new String[] {System.getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
            if (c != null && Files.isExecutable(Path.of(c))) return Path.of(c);
        }
        return null;
    }

    public static HeadlessBrowser start(int width, int height) throws Exception {
        Path exe = find();
        if (exe == null) {
            throw new UserError("Chromium not found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM");
        }
        return new HeadlessBrowser(exe, width, height);
    }

    private HeadlessBrowser(Path exe, int width, int height) throws Exception {
        profile = Files.createTempDirectory("atlas4j-chromium");
        // flags: no sandbox (root in containers), and no background traffic — this machine has no network
        process = new ProcessBuilder(exe.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--allow-file-access-from-files", "--hide-scrollbars",
                "--window-size=" + width + "," + height, "--user-data-dir=" + profile, "--remote-debugging-port=0",
                "about:blank").redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(portFile) || Files.readAllLines(portFile).size() < 2) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String log = Files.exists(profile.resolve("chromium.log")) ? Files.readString(profile.resolve("chromium.log")) : "";
                process.destroyForcibly();
                throw new IOException("Chromium did not start its DevTools endpoint: " + log.lines().limit(20).toList());
            }
            Thread.sleep(100);
        }
        int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
        HttpClient http = HttpClient.newHttpClient();
        String list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        String ws = null;
        for (JsonNode t : Json.MAPPER.readTree(list)) {
            if ("page".equals(t.path("type").asText())) ws = t.get("webSocketDebuggerUrl").asText();
        }
        if (ws == null) throw new IOException("Chromium has no page target: " + list);
        socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(URI.create(ws), new Listener())
                .get(10, TimeUnit.SECONDS);
        call("Page.enable", Map.of());
        call("Runtime.enable", Map.of());
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder buf = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            buf.append(data);
            if (last) {
                try {
                    JsonNode msg = Json.MAPPER.readTree(buf.toString());
                    if (msg.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
                        if (f != null) f.complete(msg);
                    }
                } catch (IOException e) {
                    // not JSON: ignore
                }
                buf.setLength(0);
            }
            ws.request(1);
            return null;
        }
    }

    /** One DevTools command; returns its result, throws on a protocol error. */
    public JsonNode call(String method, Map<String, ?> params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        socket.sendText(Json.MAPPER.writeValueAsString(Map.of("id", id, "method", method, "params", params)), true).get();
        JsonNode msg = f.get(60, TimeUnit.SECONDS);
        if (msg.has("error")) throw new IOException(method + ": " + msg.get("error"));
        return msg.get("result");
    }

    public void open(Path file) throws Exception {
        call("Page.navigate", Map.of("url", file.toAbsolutePath().toUri().toString()));
    }

    /** Evaluates a script expression and returns its value (JSON), awaiting promises. */
    public JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (r.has("exceptionDetails")) throw new IOException("script failed: " + r.get("exceptionDetails"));
        return r.path("result").path("value");
    }

    /** Polls until the expression is true. */
    public void waitFor(String expression, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!eval("!!(" + expression + ")").asBoolean()) {
            if (System.nanoTime() > deadline) throw new IOException("timed out waiting for " + expression);
            Thread.sleep(50);
        }
    }

    public void mouseMove(double x, double y) throws Exception {
        call("Input.dispatchMouseEvent", Map.of("type", "mouseMoved", "x", x, "y", y, "pointerType", "mouse"));
    }

    public void wheel(double x, double y, double deltaY) throws Exception {
        call("Input.dispatchMouseEvent", Map.of("type", "mouseWheel", "x", x, "y", y, "deltaX", 0, "deltaY", deltaY));
    }

    public void key(String key) throws Exception {
        call("Input.dispatchKeyEvent", Map.of("type", "keyDown", "key", key, "text", key));
        call("Input.dispatchKeyEvent", Map.of("type", "keyUp", "key", key));
    }

    public byte[] screenshot() throws Exception {
        return Base64.getDecoder().decode(call("Page.captureScreenshot", Map.of("format", "png")).get("data").asText());
    }

    @Override
    public void close() {
        try {
            call("Browser.close", Map.of());
        } catch (Exception e) {
            // already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (var s = Files.walk(profile)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
