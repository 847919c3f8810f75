package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.atlas4j.collect.Collector;
import org.atlas4j.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A file whose damage shows only when its pixels are decoded (a PNG with valid chunks, CRCs and IEND around a broken
 * zlib stream) is listed and left out of every collect output — activations, attribution, samples.csv — and so of
 * the layout; the other images' rows are exactly those of a folder where that file is a good image.
 */
@org.atlas4j.IntegrationTest
class DecodeFailureTest {
    @TempDir
    Path dir;

    static final int GOOD = 8;
    /** The broken file's place in the sorted folder: in the middle of the batch, so later rows move up. */
    static final int BROKEN_AT = 3;

    /** A 28×28 grey PNG whose IDAT starts as zlib but then holds garbage; every chunk's CRC is right. */
    static void brokenIdatPng(Path f) throws Exception {
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream ih = new DataOutputStream(ihdr);
        ih.writeInt(28);
        ih.writeInt(28);
        ih.write(new byte[] {8, 0, 0, 0, 0});
        byte[] idat = new byte[300];
        new java.util.Random(3).nextBytes(idat);
        idat[0] = 0x78; // a valid zlib header (deflate, 32 KB window, check bits right) before the garbage
        idat[1] = (byte) 0x9c;
        idat[2] = (byte) 0xff; // a reserved block type: the inflater fails at once
        try (OutputStream o = Files.newOutputStream(f)) {
            o.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            HostileCorpusTest.chunk(o, "IHDR", ihdr.toByteArray());
            HostileCorpusTest.chunk(o, "IDAT", idat);
            HostileCorpusTest.chunk(o, "IEND", new byte[0]);
        }
    }

    /** GOOD photos p0..; at position BROKEN_AT either the broken PNG or one more good photo. */
    static List<String> folder(Path in, boolean broken) throws Exception {
        Files.createDirectories(in);
        List<String> names = new ArrayList<>();
        for (int i = 0; i <= GOOD; i++) {
            String name = "p" + i + ".png";
            names.add(name);
            if (i == BROKEN_AT && broken) {
                brokenIdatPng(in.resolve(name));
            } else {
                Files.write(in.resolve(name), HostileCorpusTest.encoded(HostileCorpusTest.photo(56, 42, i), "png"));
            }
        }
        return names;
    }

    static CliErrorsTest.Outcome collect(Path in, Path out, String name, String... extra) {
        List<String> args = new ArrayList<>(List.of("collect", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images",
                in.toString(), "--output", out.toString(), "--name", name, "--seed", "5", "--attribution"));
        args.addAll(List.of(extra));
        return CliErrorsTest.atlas(args.toArray(String[]::new));
    }

    @Test
    void aFileFailingAtDecodeIsListedAndInNoOutput() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path bad = dir.resolve("bad");
        List<String> names = folder(bad, true);
        var c = collect(bad, dir, "b");
        assertEquals(0, c.exit(), c.err());

        Path col = dir.resolve("b/collect");
        JsonNode listed = new ObjectMapper().readTree(col.resolve("skipped-files.json").toFile());
        Map<String, String> failed = HostileCorpusTest.reasons(listed.get("failedToDecode"));
        assertEquals(Set.of("p" + BROKEN_AT + ".png"), failed.keySet());
        assertTrue(failed.get("p" + BROKEN_AT + ".png").contains("corrupt image data"), failed.toString());
        assertEquals(0, listed.get("skipped").size());

        List<String> rows = Files.readAllLines(col.resolve(Collector.SAMPLES));
        List<String> header = List.of(rows.get(0).split(","));
        Map<String, Integer> seen = new HashMap<>();
        for (String r : rows.subList(1, rows.size())) seen.merge(r.split(",")[header.indexOf("file")], 1, Integer::sum);
        for (int i = 0; i <= GOOD; i++) {
            assertEquals(i == BROKEN_AT ? 0 : 1, seen.getOrDefault(names.get(i), 0), names.get(i) + " in samples.csv");
        }
        assertEquals(GOOD, Npy.read(col.resolve(Collector.ACTIVATIONS)).rows());
        assertEquals(GOOD, Npy.read(col.resolve(Collector.ATTRIBUTION)).rows());
        assertEquals(GOOD, Collector.Result.read(col).count());

        // the rows left are the good images' rows of a folder where that file decodes: same index, position, vector
        Path good = dir.resolve("good");
        folder(good, false);
        var g = collect(good, dir, "g");
        assertEquals(0, g.exit(), g.err());
        Path gcol = dir.resolve("g/collect");
        List<String> gRows = Files.readAllLines(gcol.resolve(Collector.SAMPLES));
        assertEquals(GOOD + 2, gRows.size(), "header + every image");
        Npy.NpyArray acts = Npy.read(col.resolve(Collector.ACTIVATIONS));
        Npy.NpyArray gActs = Npy.read(gcol.resolve(Collector.ACTIVATIONS));
        Npy.NpyArray attr = Npy.read(col.resolve(Collector.ATTRIBUTION));
        Npy.NpyArray gAttr = Npy.read(gcol.resolve(Collector.ATTRIBUTION));
        for (int r = 0, i = 0; i <= GOOD; i++) {
            if (i == BROKEN_AT) continue;
            String ours = rows.get(r + 1);
            String theirs = gRows.get(i + 1);
            assertEquals(theirs, ours, "samples.csv row of " + names.get(i));
            assertEquals(String.valueOf(i), ours.split(",")[0], "samples.csv keeps the dataset index");
            assertArrayEquals(gActs.row(i), acts.row(r), 1e-5f, "activation of " + names.get(i));
            assertArrayEquals(gAttr.row(i), attr.row(r), 1e-4f, "attribution of " + names.get(i));
            r++;
        }

        // the layout holds exactly the collected samples
        var red = CliErrorsTest.atlas("reduce", "--output", dir.toString(), "--name", "b", "--neighbors", "4", "--epochs", "20");
        assertEquals(0, red.exit(), red.err());
        assertEquals(GOOD, Npy.read(dir.resolve("b/reduce/layout.npy")).rows());
    }

    @Test
    void aFolderOfWhichNothingDecodesIsOneClearErrorAndNoOutput() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path in = dir.resolve("none");
        Files.createDirectories(in);
        brokenIdatPng(in.resolve("a.png"));
        brokenIdatPng(in.resolve("b.png"));
        CliErrorsTest.assertCleanFailure(collect(in, dir, "n"), "none of the 2 images could be decoded",
                "a.png: corrupt image data", "skipped-files.json");
        JsonNode listed = new ObjectMapper().readTree(dir.resolve("n/collect/skipped-files.json").toFile());
        assertEquals(Set.of("a.png", "b.png"), HostileCorpusTest.reasons(listed.get("failedToDecode")).keySet());
        assertFalse(Files.exists(dir.resolve("n/collect/" + Collector.ACTIVATIONS)));
        assertFalse(Files.exists(dir.resolve("n/collect/" + Collector.SAMPLES)));
    }

    @Test
    void withRandomCropsEveryCropOfTheFileIsLeftOut() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path bad = dir.resolve("bad");
        folder(bad, true);
        var c = collect(bad, dir, "k", "--crops-per-image", "3");
        assertEquals(0, c.exit(), c.err());
        Path col = dir.resolve("k/collect");
        List<String> rows = Files.readAllLines(col.resolve(Collector.SAMPLES));
        assertEquals(GOOD * 3 + 1, rows.size(), "header + 3 crops of each good image");
        for (String r : rows.subList(1, rows.size())) assertFalse(r.contains("p" + BROKEN_AT + ".png"), r);
        assertEquals(GOOD * 3, Npy.read(col.resolve(Collector.ACTIVATIONS)).rows());
        assertEquals(GOOD * 3, Npy.read(col.resolve(Collector.ATTRIBUTION)).rows());

        // under --limit (a subset of the folder) the file is left out and still listed
        var l = collect(bad, dir, "l", "--crops-per-image", "3", "--limit", String.valueOf(GOOD * 3 + 2));
        assertEquals(0, l.exit(), l.err());
        assertEquals(1 + (GOOD * 3 + 2) - 3, Files.readAllLines(dir.resolve("l/collect/samples.csv")).size(),
                "header + the first 26 crops but the broken file's 3");
        JsonNode listed = new ObjectMapper().readTree(dir.resolve("l/collect/skipped-files.json").toFile());
        assertEquals(Set.of("p" + BROKEN_AT + ".png"), HostileCorpusTest.reasons(listed.get("failedToDecode")).keySet());
    }
}
