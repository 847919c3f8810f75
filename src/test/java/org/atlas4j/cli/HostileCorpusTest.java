package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A folder as real ones are: good photos (PNG, JPEG, WebP, CMYK JPEG, a valid 81-megapixel PNG that only fits the heap
 * when decoded with subsampling) among decompression bombs, truncated and corrupt files, an empty file and text named
 * .jpg. {@code run} and {@code explain} run in a child JVM with a 256 MB heap that exits on the first
 * OutOfMemoryError, even a caught one; both must finish, use every good image exactly once and list every bad one
 * with its reason.
 */
@org.atlas4j.IntegrationTest
class HostileCorpusTest {
    @TempDir
    Path dir;

    static final String HEAP = "-Xmx256m";

    /** A picture with edges and colour, so the model has something to see. */
    static BufferedImage photo(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        java.util.Random r = new java.util.Random(seed);
        g.setColor(new Color(r.nextInt(0x1000000)));
        g.fillRect(0, 0, w, h);
        for (int i = 0; i < 12; i++) {
            g.setColor(new Color(r.nextInt(0x1000000)));
            g.fillOval(r.nextInt(w), r.nextInt(h), w / 4 + r.nextInt(w / 3), h / 4 + r.nextInt(h / 3));
        }
        g.dispose();
        return img;
    }

    static void chunk(OutputStream out, String type, byte[] data) throws Exception {
        DataOutputStream o = new DataOutputStream(out);
        o.writeInt(data.length);
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        o.write(t);
        o.write(data);
        o.writeInt((int) crc.getValue());
    }

    /**
     * A PNG declaring w×h 8-bit pixels (colour type 0 grey, 2 RGB) whose IDAT is a zlib stream of zero rows written
     * as it is compressed (never the whole image in memory): all h rows (a valid black image), or only the first
     * {@code rows} (a bomb whose header is all a reader needs to see).
     */
    static void zeroPng(Path f, int w, int h, int colourType, int rows) throws Exception {
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        Deflater z = new Deflater(Deflater.BEST_COMPRESSION);
        try (DeflaterOutputStream d = new DeflaterOutputStream(idat, z, 1 << 16)) {
            byte[] row = new byte[1 + w * (colourType == 2 ? 3 : 1)]; // filter byte 0 + samples
            for (int y = 0; y < rows; y++) d.write(row);
        }
        z.end();
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream ih = new DataOutputStream(ihdr);
        ih.writeInt(w);
        ih.writeInt(h);
        ih.write(new byte[] {8, (byte) colourType, 0, 0, 0});
        try (OutputStream o = Files.newOutputStream(f)) {
            o.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            chunk(o, "IHDR", ihdr.toByteArray());
            chunk(o, "IDAT", idat.toByteArray());
            chunk(o, "IEND", new byte[0]);
        }
    }

    static byte[] encoded(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, b), format);
        return b.toByteArray();
    }

    /** Writes the corpus; returns the bad files with a word their reason must contain. */
    Map<String, String> corpus(Path in, List<String> good) throws Exception {
        Files.createDirectories(in);
        for (int i = 0; i < 6; i++) {
            String name = "photo" + i + (i % 2 == 0 ? ".jpg" : ".png");
            Files.write(in.resolve(name), encoded(photo(160 + 20 * i, 120 + 10 * i, i), i % 2 == 0 ? "jpg" : "png"));
            good.add(name);
        }
        Path fixtures = Path.of("src/test/resources/fixtures/images");
        for (String f : new String[] {"lossy.webp", "lossless.webp", "cmyk.jpg", "grey16.png"}) {
            Files.copy(fixtures.resolve(f), in.resolve(f));
            good.add(f);
        }
        // valid, under the 89.5 MP cap, 243 MB as decoded bytes: only a subsampled decode fits the child's heap
        zeroPng(in.resolve("big-valid.png"), 9000, 9000, 2, 9000);
        good.add("big-valid.png");

        Map<String, String> bad = new java.util.LinkedHashMap<>();
        zeroPng(in.resolve("bomb-grey.png"), 40000, 40000, 0, 64);
        bad.put("bomb-grey.png", "40000×40000 = 1600 megapixels, over the cap");
        zeroPng(in.resolve("bomb-rgb.png"), 30000, 30000, 2, 32);
        bad.put("bomb-rgb.png", "30000×30000 = 900 megapixels, over the cap");
        byte[] jpg = encoded(photo(300, 200, 9), "jpg");
        Files.write(in.resolve("truncated.jpg"), Arrays.copyOf(jpg, jpg.length / 3));
        bad.put("truncated.jpg", "truncated: the JPEG has no end-of-image marker");
        byte[] png = encoded(photo(300, 200, 10), "png");
        byte[] corrupt = png.clone();
        for (int i = png.length / 2; i < png.length / 2 + 64; i++) corrupt[i] ^= 0x55;
        Files.write(in.resolve("corrupt.png"), corrupt);
        bad.put("corrupt.png", "corrupt image data");
        // random bytes over a stretch of the scan (a few flipped bits can decode silently: JPEG has no checksum)
        byte[] badJpg = jpg.clone();
        byte[] noise = new byte[512];
        new java.util.Random(7).nextBytes(noise);
        System.arraycopy(noise, 0, badJpg, jpg.length / 2, noise.length);
        Files.write(in.resolve("corrupt.jpg"), badJpg);
        bad.put("corrupt.jpg", "corrupt jpeg data");
        byte[] webp = Files.readAllBytes(fixtures.resolve("lossy.webp"));
        Files.write(in.resolve("cut.webp"), Arrays.copyOf(webp, webp.length - 20));
        bad.put("cut.webp", "truncated: the WebP declares");
        Files.write(in.resolve("empty.jpg"), new byte[0]);
        bad.put("empty.jpg", "empty file (0 bytes)");
        Files.writeString(in.resolve("notes.jpg"), "this is not a picture\n");
        bad.put("notes.jpg", "not an image format Java reads");
        return bad;
    }

    record Child(int exit, String log) {
    }

    static Child child(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), HEAP,
                "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Dorg.bytedeco.javacpp.maxbytes=2G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=4G",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        return new Child(p.waitFor(), log);
    }

    static Map<String, String> reasons(JsonNode list) {
        Map<String, String> m = new HashMap<>();
        for (JsonNode n : list) {
            String file = Path.of(n.get("file").asText()).getFileName().toString();
            assertFalse(m.containsKey(file), "listed twice: " + file);
            m.put(file, n.get("reason").asText());
        }
        return m;
    }

    @Test
    void runAndExplainFinishOnAHostileFolderWithinTheHeap() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path in = dir.resolve("corpus");
        List<String> good = new ArrayList<>();
        Map<String, String> bad = corpus(in, good);

        Child run = child("run", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", in.toString(), "--output",
                dir.toString(), "--name", "h", "--seed", "1", "--grid", "2", "--threshold", "0", "--steps", "2",
                "--neighbors", "4", "--epochs", "20", "--attempts", "1");
        assertEquals(0, run.exit(), "run failed:\n" + run.log());
        assertFalse(run.log().contains("OutOfMemoryError"), run.log());
        assertTrue(run.log().contains("collect: " + good.size() + " images, " + bad.size() + " skipped (listed in"), run.log());
        // every good file exactly once in the samples, no bad one
        List<String> rows = Files.readAllLines(dir.resolve("h/collect/samples.csv"));
        int fileCol = Arrays.asList(rows.get(0).split(",")).indexOf("file");
        Map<String, Integer> seen = new HashMap<>();
        for (String row : rows.subList(1, rows.size())) seen.merge(Path.of(row.split(",")[fileCol]).getFileName().toString(), 1, Integer::sum);
        JsonNode listed = new ObjectMapper().readTree(dir.resolve("h/collect/skipped-files.json").toFile());
        Map<String, String> skipped = reasons(listed.get("skipped"));
        Map<String, String> failed = reasons(listed.get("failedToDecode"));
        for (String g : good) {
            assertEquals(1, seen.getOrDefault(g, 0), g + " in samples.csv");
            assertFalse(skipped.containsKey(g) || failed.containsKey(g), g + " listed: " + skipped + failed);
        }
        Set<String> listedBad = new TreeSet<>(skipped.keySet());
        listedBad.addAll(failed.keySet());
        assertEquals(new TreeSet<>(bad.keySet()), listedBad, "every bad file listed once");
        for (var b : bad.entrySet()) {
            String reason = skipped.containsKey(b.getKey()) ? skipped.get(b.getKey()) : failed.get(b.getKey());
            assertTrue(reason.toLowerCase(java.util.Locale.ROOT).contains(b.getValue().toLowerCase(java.util.Locale.ROOT)),
                    b.getKey() + ": " + reason);
            // found at open or only when decoded (corrupt data): listed, and in none of the samples
            assertFalse(seen.containsKey(b.getKey()), b.getKey() + " in samples.csv");
        }
        assertEquals(good.size(), rows.size() - 1, "samples.csv: the good images only");
        assertEquals(good.size(), org.atlas4j.io.Npy.read(dir.resolve("h/collect/activations.npy")).rows());
        assertEquals(good.size(), org.atlas4j.io.Npy.read(dir.resolve("h/reduce/layout.npy")).rows(), "layout");
        assertEquals(Set.of("corrupt.png", "corrupt.jpg"), failed.keySet(), "only corrupt data needs a decode to be found");
        assertTrue(Files.exists(dir.resolve("h/atlas.png")) || Files.exists(dir.resolve("h/stitch/atlas.png")),
                "the run got to its atlas");

        Child explain = child("explain", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", in.toString(), "--out",
                dir.resolve("e").toString(), "--method", "gradcam", "--batch", "4");
        assertEquals(0, explain.exit(), "explain failed:\n" + explain.log());
        JsonNode index = new ObjectMapper().readTree(dir.resolve("e/index.json").toFile());
        Map<String, String> eSkipped = reasons(index.get("skippedFiles"));
        assertEquals(new TreeSet<>(bad.keySet()), new TreeSet<>(eSkipped.keySet()), "explain skips every bad file: " + eSkipped);
        for (var b : bad.entrySet()) {
            assertTrue(eSkipped.get(b.getKey()).toLowerCase(java.util.Locale.ROOT).contains(b.getValue().toLowerCase(java.util.Locale.ROOT)),
                    b.getKey() + ": " + eSkipped);
        }
        assertEquals(good.size(), index.get("explained").asInt() + index.get("resumed").asInt(), "every good image explained");
        Set<String> entries = new TreeSet<>();
        for (JsonNode e : index.get("entries")) assertTrue(entries.add(Path.of(e.get("file").asText()).getFileName().toString()));
        assertEquals(new TreeSet<>(good), entries);
    }

    @Test
    void keepDamagedUsesThemAndCountsThemApart() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path in = dir.resolve("photos");
        Files.createDirectories(in);
        for (int i = 0; i < 3; i++) Files.write(in.resolve("p" + i + ".png"), encoded(photo(90, 60, i), "png"));
        byte[] jpg = encoded(photo(300, 200, 9), "jpg");
        Files.write(in.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length * 2 / 3));
        byte[] bad = jpg.clone();
        byte[] noise = new byte[512];
        new java.util.Random(7).nextBytes(noise);
        System.arraycopy(noise, 0, bad, jpg.length / 2, noise.length);
        Files.write(in.resolve("corrupt.jpg"), bad);

        var o = CliErrorsTest.atlas("collect", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", in.toString(),
                "--output", dir.toString(), "--name", "k", "--keep-damaged");
        assertEquals(0, o.exit(), o.err());
        JsonNode listed = new ObjectMapper().readTree(dir.resolve("k/collect/skipped-files.json").toFile());
        Map<String, String> kept = reasons(listed.get("damagedKept"));
        assertEquals(Set.of("cut.jpg", "corrupt.jpg"), kept.keySet());
        assertTrue(kept.get("cut.jpg").contains("truncated"), kept.toString());
        assertEquals(6, Files.readAllLines(dir.resolve("k/collect/samples.csv")).size(), "header + 5 samples");

        var d = CliErrorsTest.atlas("collect", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", in.toString(),
                "--output", dir.toString(), "--name", "d");
        assertEquals(0, d.exit(), d.err());
        // without it: the cut one skipped at open, the corrupt one found when decoded; both listed, neither a sample
        JsonNode dl = new ObjectMapper().readTree(dir.resolve("d/collect/skipped-files.json").toFile());
        assertEquals(Set.of("cut.jpg"), reasons(dl.get("skipped")).keySet());
        assertEquals(Set.of("corrupt.jpg"), reasons(dl.get("failedToDecode")).keySet());
        assertEquals(0, dl.get("damagedKept").size());
        assertEquals(4, Files.readAllLines(dir.resolve("d/collect/samples.csv")).size(), "header + 3 samples");
        assertEquals(3, org.atlas4j.io.Npy.read(dir.resolve("d/collect/activations.npy")).rows());

        var e = CliErrorsTest.atlas("explain", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", in.toString(),
                "--out", dir.resolve("e").toString(), "--method", "gradcam", "--keep-damaged");
        assertEquals(0, e.exit(), e.err());
        JsonNode index = new ObjectMapper().readTree(dir.resolve("e/index.json").toFile());
        assertEquals(5, index.get("explained").asInt());
        assertEquals(Set.of("cut.jpg", "corrupt.jpg"), reasons(index.get("damagedKept")).keySet());
        assertEquals(0, index.get("skippedFiles").size());
        assertTrue(Files.readString(dir.resolve("e/report.txt")).contains("Damaged but kept (--keep-damaged):"));
    }
}
