package org.atlas4j.io;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import org.atlas4j.model.ModelCard;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.RunConfig;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the readers the project writes itself (.npy, IDX plain and gzipped, model card, run config and
 * the provenance a run folder is reopened from): valid files mutated by bit flips, truncation, insertion, deletion,
 * duplication, header-field edits and huge declared sizes. Contract: each input is read or refused with the project's
 * error ({@link DataFormatException} or {@link UserError}) whose message names the file; never another exception, and
 * never an allocation sized by the header rather than the file (checked with the thread's allocation counter).
 * Deterministic given the seed ({@code -Datlas4j.fuzzSeed=N}; failures print it).
 */
@org.atlas4j.UnitTest
class ReaderFuzzTest {
    static final long SEED = Long.getLong("atlas4j.fuzzSeed", 20261204L);
    static final int ITERATIONS = Integer.getInteger("atlas4j.fuzzIterations", 3000);
    /** Heap a read may allocate beyond a generous multiple of its input: the readers' fixed buffers (1 MB chunk). */
    static final long ALLOCATION_SLACK = 8L << 20;

    @TempDir
    Path dir;

    interface Reader {
        void read(Path file) throws Exception;
    }

    // ---- the readers and their valid inputs ----

    @Test
    void npy() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        Path f = dir.resolve("seed.npy");
        Npy.writeFloat32(f, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        seeds.add(Files.readAllBytes(f));
        NpyInts.writeInt32(f, new int[] {7, 8, 9});
        seeds.add(Files.readAllBytes(f));
        Npy.writeFloat32Nd(f, new float[24], 2, 3, 4);
        seeds.add(Files.readAllBytes(f));
        fuzz("npy", ".npy", seeds, p -> {
            Npy.NpyArray a = Npy.read(p);
            if (a.shape().length == 2) a.cols(); // a read array's accessors hold for its shape
        }, NPY_FIELDS);
    }

    @Test
    void idx() throws Exception {
        byte[] images = idx(0x803, new int[] {3, 4, 5}, 60);
        byte[] labels = idx(0x801, new int[] {6}, 6);
        fuzz("idx-images", ".idx", List.of(images), IdxReader::readImages, IDX_FIELDS);
        fuzz("idx-labels", ".idx", List.of(labels), IdxReader::readLabels, IDX_FIELDS);
        fuzz("idx-images-gz", ".gz", List.of(gzip(images)), IdxReader::readImages, NO_FIELDS);
        fuzz("idx-labels-gz", ".gz", List.of(gzip(labels)), IdxReader::readLabels, NO_FIELDS);
        // the header edits apply to the decompressed bytes, recompressed: huge declared sizes behind valid gzip
        fuzz("idx-images-gz-header", ".gz", List.of(images), p -> {
            Files.write(p, gzip(Files.readAllBytes(p)));
            IdxReader.readImages(p);
        }, IDX_FIELDS);
    }

    @Test
    void modelCard() throws Exception {
        String yaml = """
                modelFile: net.zip
                inputShape: [3, 32, 32]
                classNames: [cat, dog, "bird, small"]
                defaultLayer: conv2
                pixelScaling: pixels / 255
                provenance: trained for the fuzz test
                resize: pad
                channelOrder: bgr
                resizeFilter: bilinear
                """;
        String json = """
                {"modelFile":"net.onnx","inputShape":[1,28,28],"classNamesFile":"classes.txt","pixelScaling":"imagenet"}
                """;
        Files.writeString(dir.resolve("classes.txt"), "a\nb\n");
        fuzz("card-yaml", ".yaml", List.of(bytes(yaml)), p -> {
            Path model = p.resolveSibling(stem(p) + ".zip");
            ModelCard.readFor(model);
        }, TEXT_FIELDS);
        fuzz("card-json", ".json", List.of(bytes(json)), p -> {
            Path model = p.resolveSibling(stem(p) + ".onnx");
            ModelCard.readFor(model);
        }, TEXT_FIELDS);
    }

    @Test
    void runConfigAndProvenance() throws Exception {
        String yaml = """
                name: fuzz
                model: models/fashion-mnist-cnn.zip
                seed: 7
                data:
                  type: folder
                  images: photos
                  limit: 100
                  cropScale: [0.1, 1.0]
                reduce:
                  method: umap
                  neighbors: 15
                grid:
                  size: 8
                  levels: [4, 16]
                render:
                  steps: 32
                stitch:
                  captions: false
                """;
        fuzz("run-config", ".yaml", List.of(bytes(yaml)), RunConfig::load, TEXT_FIELDS);
        // a config that parses then meets every stage's option checks (their messages name the setting, not the file)
        fuzz("run-config-validated", ".yaml", List.of(bytes(yaml)), p -> new AtlasRun(RunConfig.load(p)), TEXT_FIELDS);
        RunConfig c = RunConfig.load(write("valid.yaml", bytes(yaml)));
        byte[] prov = Json.MAPPER.writeValueAsBytes(java.util.Map.of("run", "fuzz", "config", c, "seed", 7));
        fuzz("provenance", ".json", List.of(prov), p -> {
            Path run = p.resolveSibling("run-" + stem(p));
            Files.createDirectories(run);
            Files.move(p, run.resolve(AtlasRun.PROVENANCE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            AtlasRun.open(run);
        }, TEXT_FIELDS);
    }

    // ---- the fuzzer ----

    /** Format-aware edits: rewrite a header field with a hostile value. */
    interface FieldEdit {
        byte[] apply(byte[] in, Random rnd);
    }

    static final FieldEdit[] NO_FIELDS = {};

    static final String[] HOSTILE_NUMBERS = {"-1", "0", "2147483647", "2147483648", "-2147483648", "99999999999999999999",
        "4294967296", "1e309", "NaN", "0x10", "1.5", "", " ", "L", "65536"};
    static final String[] HOSTILE_TOKENS = {"null", "~", "[", "]", "{", "}", "\"", "'", "!!binary AAAA", "&a x", "*a",
        "*nope", ": :", "- - -", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "\u0000", "\t", "\\", "? x", "<<: *a", "!!java.lang.Object {}",
        "!!float", "\uFEFF", "%YAML 9.9", "---", "...", "|", ">", "#", "true", "-1", "1e309", "99999999999999999999"};

    /** .npy: the shape tuple, the dtype and the header-length field. */
    static final FieldEdit[] NPY_FIELDS = {
        (in, rnd) -> replaceBetween(in, "'shape': (", ")", randomShape(rnd)),
        (in, rnd) -> replaceBetween(in, "'descr': '", "'", pick(rnd, new String[] {"<f4", ">f4", "<f2", "|b1", "<u8",
            "O", "", "<i8", "|u1", "<f8"})),
        (in, rnd) -> replaceBetween(in, "'fortran_order': ", ",", pick(rnd, new String[] {"True", "False", "1", ""})),
        (in, rnd) -> {
            byte[] out = in.clone();
            if (out.length > 9) {
                out[6] = (byte) pick(rnd, new int[] {1, 2, 3, 0, 255});
                out[8] = (byte) rnd.nextInt(256);
                out[9] = (byte) rnd.nextInt(256);
            }
            return out;
        },
    };

    /** IDX: magic, each dimension (big-endian int32) set to a hostile value. */
    static final FieldEdit[] IDX_FIELDS = {
        (in, rnd) -> {
            byte[] out = in.clone();
            int dims = Math.max(1, Math.min(3, (out.length - 4) / 4));
            int at = 4 + 4 * rnd.nextInt(dims);
            int v = pick(rnd, new int[] {-1, 0, 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 16, 1 << 30, 46341, 65535,
                rnd.nextInt()});
            if (at + 4 <= out.length) putInt(out, at, v);
            return out;
        },
        (in, rnd) -> {
            byte[] out = in.clone();
            if (out.length >= 4) putInt(out, 0, pick(rnd, new int[] {0x801, 0x803, 0x804, 0xD03, 0x0803_0000, -1, 0}));
            return out;
        },
    };

    /** YAML and JSON: a value or key replaced by a hostile token or number. */
    static final FieldEdit[] TEXT_FIELDS = {
        (in, rnd) -> replaceToken(in, rnd, HOSTILE_NUMBERS),
        (in, rnd) -> replaceToken(in, rnd, HOSTILE_TOKENS),
    };

    private void fuzz(String name, String ext, List<byte[]> seeds, Reader reader, FieldEdit[] fields) throws Exception {
        Random rnd = new Random(SEED ^ name.hashCode());
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        for (byte[] s : seeds) { // class loading and parser set-up allocate once; not what is measured
            Path warm = write(name + "-warm" + ext, s);
            try {
                reader.read(warm);
            } catch (DataFormatException | UserError e) {
                // the recompressing reader refuses a seed that is already gzip; only the warming matters
            }
        }
        int refused = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = seeds.get(rnd.nextInt(seeds.size()));
            int rounds = 1 + rnd.nextInt(3);
            for (int r = 0; r < rounds; r++) input = mutate(input, rnd, fields);
            Path file = write(name + "-" + i + ext, input);
            long before = threads.getThreadAllocatedBytes(tid);
            try {
                reader.read(file);
            } catch (DataFormatException | UserError e) {
                refused++;
                String msg = String.valueOf(e.getMessage());
                if (!name.endsWith("-validated") && !msg.contains(file.getFileName().toString()) && !msg.contains(stem(file))) {
                    failWith(name, i, input, "message does not name the file: " + msg, e);
                }
                if (msg.contains("\n")) failWith(name, i, input, "message is not one line: " + msg, e);
            } catch (Throwable e) {
                failWith(name, i, input, "unchecked " + e, e);
            }
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            if (allocated > ALLOCATION_SLACK + 256L * input.length) {
                failWith(name, i, input, "allocated " + allocated + " bytes for a " + input.length + "-byte file", null);
            }
            Files.deleteIfExists(file);
        }
        System.out.printf("fuzz %-22s %,d inputs (seed %d): %,d refused with a clear error, %,d read; %.1f s%n", name,
                ITERATIONS, SEED, refused, ITERATIONS - refused, (System.nanoTime() - t0) / 1e9);
    }

    private static void failWith(String name, int iteration, byte[] input, String what, Throwable cause) {
        StringBuilder hex = new StringBuilder();
        for (int k = 0; k < Math.min(input.length, 160); k++) hex.append(String.format("%02x", input[k]));
        AssertionError e = new AssertionError(name + " iteration " + iteration + " (seed " + SEED + ", rerun with "
                + "-Datlas4j.fuzzSeed=" + SEED + "): " + what + "\ninput (" + input.length + " bytes): " + hex
                + "\ntext: " + new String(input, 0, Math.min(input.length, 400), StandardCharsets.ISO_8859_1));
        if (cause != null) e.initCause(cause);
        throw e;
    }

    static byte[] mutate(byte[] in, Random rnd, FieldEdit[] fields) {
        int kinds = 6 + (fields.length > 0 ? 3 : 0);
        int k = rnd.nextInt(kinds);
        int n = in.length;
        switch (k) {
            case 0 -> { // bit flips
                byte[] out = in.clone();
                int flips = 1 + rnd.nextInt(4);
                for (int f = 0; f < flips && n > 0; f++) out[rnd.nextInt(n)] ^= (byte) (1 << rnd.nextInt(8));
                return out;
            }
            case 1 -> { // truncation
                return java.util.Arrays.copyOf(in, n == 0 ? 0 : rnd.nextInt(n));
            }
            case 2 -> { // insertion of random bytes
                int at = rnd.nextInt(n + 1);
                byte[] ins = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(ins);
                return splice(in, at, at, ins);
            }
            case 3 -> { // deletion of a range
                if (n == 0) return in;
                int a = rnd.nextInt(n);
                int b = Math.min(n, a + 1 + rnd.nextInt(16));
                return splice(in, a, b, new byte[0]);
            }
            case 4 -> { // duplication of a range
                if (n == 0) return in;
                int a = rnd.nextInt(n);
                int b = Math.min(n, a + 1 + rnd.nextInt(32));
                return splice(in, b, b, java.util.Arrays.copyOfRange(in, a, b));
            }
            case 5 -> { // a byte set to an extreme value
                byte[] out = in.clone();
                if (n > 0) out[rnd.nextInt(n)] = (byte) pick(rnd, new int[] {0, 0xff, 0x7f, 0x80, '\n', '\'', ')', ':'});
                return out;
            }
            default -> {
                return fields[rnd.nextInt(fields.length)].apply(in, rnd);
            }
        }
    }

    // ---- helpers ----

    private Path write(String name, byte[] b) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, b);
        return p;
    }

    static String stem(Path p) {
        String s = p.getFileName().toString();
        int dot = s.lastIndexOf('.');
        return dot > 0 ? s.substring(0, dot) : s;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] idx(int magic, int[] dims, int payload) {
        byte[] out = new byte[4 + 4 * dims.length + payload];
        putInt(out, 0, magic);
        for (int i = 0; i < dims.length; i++) putInt(out, 4 + 4 * i, dims[i]);
        for (int i = 0; i < payload; i++) out[4 + 4 * dims.length + i] = (byte) (i * 37);
        return out;
    }

    static byte[] gzip(byte[] b) throws Exception {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(b);
        }
        return o.toByteArray();
    }

    static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    static byte[] splice(byte[] in, int from, int to, byte[] ins) {
        byte[] out = new byte[in.length - (to - from) + ins.length];
        System.arraycopy(in, 0, out, 0, from);
        System.arraycopy(ins, 0, out, from, ins.length);
        System.arraycopy(in, to, out, from + ins.length, in.length - to);
        return out;
    }

    static String randomShape(Random rnd) {
        int dims = rnd.nextInt(5);
        StringBuilder s = new StringBuilder();
        for (int d = 0; d < dims; d++) {
            if (d > 0) s.append(", ");
            s.append(rnd.nextBoolean() ? pick(rnd, HOSTILE_NUMBERS) : Integer.toString(rnd.nextInt(8)));
        }
        if (dims == 1 && rnd.nextBoolean()) s.append(',');
        return s.toString();
    }

    /** Replaces the text between the first {@code open} and the next {@code close} (latin-1, as .npy headers are). */
    static byte[] replaceBetween(byte[] in, String open, String close, String with) {
        String s = new String(in, StandardCharsets.ISO_8859_1);
        int a = s.indexOf(open);
        if (a < 0) return in;
        a += open.length();
        int b = s.indexOf(close, a);
        if (b < 0) return in;
        String edited = s.substring(0, a) + with + s.substring(b);
        return edited.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Replaces one word or number of a text file by a hostile token. */
    static byte[] replaceToken(byte[] in, Random rnd, String[] tokens) {
        String s = new String(in, StandardCharsets.UTF_8);
        List<int[]> spans = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("[A-Za-z0-9_.\\-/ ]+").matcher(s);
        while (m.find()) spans.add(new int[] {m.start(), m.end()});
        if (spans.isEmpty()) return in;
        int[] sp = spans.get(rnd.nextInt(spans.size()));
        return bytes(s.substring(0, sp[0]) + pick(rnd, tokens) + s.substring(sp[1]));
    }

    static <T> T pick(Random rnd, T[] a) {
        return a[rnd.nextInt(a.length)];
    }

    static int pick(Random rnd, int[] a) {
        return a[rnd.nextInt(a.length)];
    }

    static {
        if (ITERATIONS < 1) fail("atlas4j.fuzzIterations must be >= 1");
    }
}
