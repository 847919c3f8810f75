package org.atlas4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;


import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Image files as a dataset: a folder tree with one sub-folder per class (ImageNet/Keras style), a flat folder with a
 * labels CSV ({@code file,label} per line, label a name or index), or a flat folder without labels. Each file is one
 * sample (fitted to the model's size), or with {@link RandomCrops.Options#perImage()} = K, K seeded random crops
 * (samples {@code f·K .. f·K+K-1} come from file f). Files whose header no Java image reader accepts, that declare
 * more pixels than the cap, or whose last bytes show them cut short are skipped, counted and listed at open; a file
 * that fails later, when its pixels are decoded (corrupt data, decoder warnings), yields placeholder samples that
 * {@link #usable(int)} marks, so collect leaves them out, and is listed in {@link #failed()}. With
 * {@link Sampling#keepDamaged()} damaged files are used as far as they decode and listed in {@link #damaged()}. Big images are decoded with subsampling down to
 * twice the resolution the model (or the crop) needs. Decoding runs on 1–2 background threads a bounded window ahead
 * of the reader ({@link DecodeAhead}), each file decoded once per unit of up to {@value #CROPS_PER_UNIT} of its crops.
 */
public final class FolderDataset implements ImageDataset, AutoCloseable {
    /** A file left out, with the reason. */
    public record Skipped(String file, String reason) {
    }

    /**
     * How files become samples.
     *
     * @param crops whole images (perImage 0) or K random crops per file
     * @param seed the crops' seed (the run's --seed)
     * @param maxPixels files declaring more pixels (width × height) are skipped
     * @param keepDamaged truncated or corrupt files are used as far as they decode (and listed) instead of skipped
     */
    public record Sampling(RandomCrops.Options crops, long seed, long maxPixels, boolean keepDamaged) {
        public static final Sampling WHOLE = new Sampling(RandomCrops.Options.NONE, 0, ImageFiles.DEFAULT_MAX_PIXELS);

        public Sampling(RandomCrops.Options crops, long seed, long maxPixels) {
            this(crops, seed, maxPixels, false);
        }

        public Sampling {
            if (crops == null) crops = RandomCrops.Options.NONE;
            if (maxPixels < 1) throw new org.atlas4j.util.UserError("--max-image-megapixels must be positive, got " + maxPixels / 1e6);
        }

        ImageFiles.Limits limits() {
            return new ImageFiles.Limits(maxPixels, keepDamaged);
        }
    }

    /** Crops of one file decoded together (one decode of the file serves them). */
    static final int CROPS_PER_UNIT = 16;
    /** Decoded samples held ahead of the reader: about 128 MB of floats, at least a few, at most 256. */
    private static final long WINDOW_BYTES = 128L << 20;

    private final Path root;
    private final List<Path> files;
    private final int[] widths;
    private final int[] heights;
    private final int[] labels;
    private final List<String> classNames;
    private final ImageFiles.Preprocess pre;
    private final Sampling sampling;
    /** Samples per file: 1 for whole images, else K. */
    private final int perFile;
    private final int unitsPerFile;
    private final List<Skipped> skipped;
    private final Map<String, Skipped> failed = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>());
    /** Damaged files kept (keepDamaged): found cut short at open, or warned about when decoded. */
    private final Map<String, Skipped> damaged = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>());
    /** Units (see {@link #unitOf}) whose decode failed: their samples are placeholders, not images. */
    private final java.util.Set<Integer> failedUnits = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final DecodeAhead ahead;
    /** The previous index read, to tell sequential reads (collect) from random ones (the viewer). */
    private volatile int lastIndex = -1;

    private FolderDataset(Path root, List<Path> files, int[] widths, int[] heights, int[] labels, List<String> classNames,
            ImageFiles.Preprocess pre, Sampling sampling, List<Skipped> skipped, List<Skipped> damagedAtOpen) {
        this.root = root;
        this.files = files;
        this.widths = widths;
        this.heights = heights;
        this.labels = labels;
        this.classNames = classNames;
        this.pre = pre;
        this.sampling = sampling;
        this.perFile = sampling.crops().cropping() ? sampling.crops().perImage() : 1;
        this.unitsPerFile = (perFile + CROPS_PER_UNIT - 1) / CROPS_PER_UNIT;
        this.skipped = List.copyOf(skipped);
        for (Skipped d : damagedAtOpen) damaged.put(d.file(), d);
        int window = (int) Math.max(8, Math.min(256, WINDOW_BYTES / (4L * pre.channels() * pre.height() * pre.width())));
        // two decoders: a batch's first images wait for them, and later ones are decoded while the model runs
        int threads = Math.min(2, Runtime.getRuntime().availableProcessors());
        this.ahead = new DecodeAhead(files.size() * unitsPerFile, this::unitSize, this::decodeUnit, window, threads);
    }

    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre) {
        return open(root, labelsCsv, pre, Sampling.WHOLE);
    }

    /**
     * @param labelsCsv null for class sub-folders (or an unlabelled flat folder)
     */
    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre, Sampling sampling) {
        return open(root, labelsCsv, pre, sampling, List.of());
    }

    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre, List<String> modelClasses) {
        return open(root, labelsCsv, pre, Sampling.WHOLE, modelClasses);
    }

    /**
     * @param labelsCsv null for class sub-folders (or an unlabelled flat folder)
     * @param modelClasses the model's class names (its card), or empty: when every class folder (or CSV label) names
     *        one of them (case-insensitive) or is a valid class index, labels are the model's class indices, so
     *        captions, accuracy, class atlases and the patch test agree with the model; when none does, labels stay
     *        the folders' own order (a note says so); a partial match is refused with the names that do not match
     */
    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre, Sampling sampling,
            List<String> modelClasses) {
        if (!Files.isDirectory(root)) throw new UserError("image folder not found: " + root.toAbsolutePath());
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        List<String> names = labelsCsv != null ? readCsv(root, labelsCsv, files, labels)
                : readFolders(root, files, labels, skipped);
        int[] toModel = modelClassIndices(names, modelClasses, root);
        if (toModel != null) {
            for (int i = 0; i < labels.size(); i++) if (labels.get(i) >= 0) labels.set(i, toModel[labels.get(i)]);
            List<String> folderNames = names;
            names = List.copyOf(modelClasses);
            perClassCheck(root, folderNames, toModel, labels);
        }
        // header check: cheap, and it keeps unreadable or oversized files out of the dataset (so indices stay dense)
        List<Path> ok = new ArrayList<>();
        List<Integer> okLabels = new ArrayList<>();
        List<ImageFiles.Size> sizes = new ArrayList<>();
        List<Skipped> damagedAtOpen = new ArrayList<>();
        int[] perClass = new int[names.size()];
        for (int i = 0; i < files.size(); i++) {
            try {
                ImageFiles.Size size = ImageFiles.size(files.get(i), sampling.maxPixels());
                String cut = ImageFiles.truncation(files.get(i));
                if (cut != null) {
                    if (!sampling.keepDamaged()) throw new ImageFiles.DamagedImageException(cut);
                    damagedAtOpen.add(new Skipped(root.relativize(files.get(i)).toString().replace(java.io.File.separatorChar, '/'),
                            "kept though " + cut.replace("; pass --keep-damaged to use what decodes", "")));
                }
                sizes.add(size);
                ok.add(files.get(i));
                okLabels.add(labels.get(i));
                if (labels.get(i) >= 0) perClass[labels.get(i)]++;
            } catch (ImageFiles.UnreadableImageException e) {
                skipped.add(new Skipped(root.relativize(files.get(i)).toString(), e.getMessage()));
            }
        }
        if (ok.isEmpty()) {
            throw new UserError("no readable images in " + root + (skipped.isEmpty() ? "" : " (" + skipped.size()
                    + " files skipped, e.g. " + skipped.get(0).file() + ": " + skipped.get(0).reason() + ")"));
        }
        if ((long) ok.size() * Math.max(1, sampling.crops().perImage()) > Integer.MAX_VALUE) {
            throw new UserError(ok.size() + " images × " + sampling.crops().perImage() + " crops is over 2^31 samples; lower "
                    + "--crops-per-image or use --limit");
        }
        for (int c = 0; c < names.size(); c++) {
            if (perClass[c] == 0 && toModel == null) {
                throw new UserError("class '" + names.get(c) + "' has no readable images in " + root
                        + "; remove the empty class folder or add images");
            }
        }
        if (!skipped.isEmpty()) {
            Progress.info(String.format("images: %d readable, %d skipped in %s (e.g. %s: %s)", ok.size(), skipped.size(), root,
                    skipped.get(0).file(), skipped.get(0).reason()));
        }
        return new FolderDataset(root, ok, sizes.stream().mapToInt(ImageFiles.Size::width).toArray(),
                sizes.stream().mapToInt(ImageFiles.Size::height).toArray(),
                okLabels.stream().mapToInt(Integer::intValue).toArray(), List.copyOf(names), pre, sampling, skipped,
                damagedAtOpen);
    }

    /**
     * Lists the images under root: one subfolder per class (labels in the folders' sorted order, loose files skipped),
     * or, with no subfolders, unlabelled loose files (label -1). Returns the class names, empty when unlabelled.
     */
    private static List<String> readFolders(Path root, List<Path> files, List<Integer> labels, List<Skipped> skipped) {
        List<Path> classDirs = new ArrayList<>();
        List<Path> loose = new ArrayList<>();
        try (var s = Files.list(root)) {
            for (Path p : s.sorted().toList()) {
                if (p.getFileName().toString().startsWith(".")) continue;
                (Files.isDirectory(p) ? classDirs : loose).add(p);
            }
        } catch (IOException e) {
            throw new UserError("cannot list " + root + ": " + e.getMessage());
        }
        List<String> names;
        if (!classDirs.isEmpty()) {
            names = new ArrayList<>();
            for (Path d : classDirs) {
                List<Path> in;
                try {
                    in = ImageFiles.list(d);
                } catch (UserError e) {
                    throw new UserError("class folder " + d + " holds no images; remove it or add images");
                }
                names.add(d.getFileName().toString());
                for (Path f : in) {
                    files.add(f);
                    labels.add(names.size() - 1);
                }
            }
            for (Path f : loose) skipped.add(new Skipped(root.relativize(f).toString(), "outside the class folders"));
        } else {
            names = List.of();
            for (Path f : loose) {
                files.add(f);
                labels.add(-1);
            }
        }
        return names;
    }

    /** Model class index of each dataset class name, or null when the labels keep their own order. */
    static int[] modelClassIndices(List<String> names, List<String> modelClasses, Path root) {
        if (names.isEmpty() || modelClasses == null || modelClasses.isEmpty()) return null;
        int[] map = new int[names.size()];
        List<String> unmatched = new ArrayList<>();
        for (int c = 0; c < names.size(); c++) {
            map[c] = -1;
            String n = names.get(c).trim();
            for (int k = 0; k < modelClasses.size() && map[c] < 0; k++) {
                if (modelClasses.get(k).trim().equalsIgnoreCase(n)) map[c] = k;
            }
            if (map[c] < 0 && n.matches("\\d{1,9}") && Integer.parseInt(n) < modelClasses.size()) map[c] = Integer.parseInt(n);
            if (map[c] < 0) unmatched.add(n);
        }
        if (unmatched.size() == names.size()) {
            Progress.info("images: none of the " + names.size() + " class names in " + root + " (e.g. '" + names.get(0)
                    + "') is one of the model card's " + modelClasses.size() + " classNames; labels are the folders' own "
                    + "order (0.." + (names.size() - 1) + "), not the model's classes");
            return null;
        }
        if (!unmatched.isEmpty()) {
            throw new UserError("image classes " + unmatched + " in " + root + " are not among the model card's classNames "
                    + "(others are); rename them to the card's names (e.g. '" + modelClasses.get(0) + "') or class indices "
                    + "0.." + (modelClasses.size() - 1));
        }
        return map;
    }

    /** Every class folder must still hold an image after the relabelling (checked by folder name). */
    private static void perClassCheck(Path root, List<String> folderNames, int[] toModel, List<Integer> labels) {
        java.util.Set<Integer> present = new java.util.HashSet<>(labels);
        for (int c = 0; c < folderNames.size(); c++) {
            if (!present.contains(toModel[c])) {
                throw new UserError("class '" + folderNames.get(c) + "' has no images in " + root
                        + "; remove the empty class folder or add images");
            }
        }
    }

    private static List<String> readCsv(Path root, Path csv, List<Path> files, List<Integer> labels) {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv);
        } catch (IOException e) {
            throw new UserError("cannot read labels CSV " + csv + ": " + e.getMessage());
        }
        TreeMap<String, Integer> byName = new TreeMap<>();
        List<String[]> rows = new ArrayList<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).trim();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] parts = line.split(",", -1);
            if (parts.length != 2) {
                throw new UserError("labels CSV " + csv + " line " + (n + 1) + ": expected 'file,label', got '" + line + "'");
            }
            if (n == 0 && parts[0].trim().equalsIgnoreCase("file")) continue; // header
            rows.add(new String[] {parts[0].trim(), parts[1].trim()});
            byName.putIfAbsent(parts[1].trim(), 0);
        }
        if (rows.isEmpty()) throw new UserError("labels CSV " + csv + " lists no images");
        // class names in sorted order; purely numeric labels keep their numeric order
        List<String> names = new ArrayList<>(byName.keySet());
        if (names.stream().allMatch(s -> s.matches("\\d+"))) names.sort(java.util.Comparator.comparingInt(Integer::parseInt));
        for (String[] r : rows) {
            Path f = root.resolve(r[0]);
            if (!Files.isRegularFile(f)) {
                throw new UserError("labels CSV " + csv + " names " + r[0] + ", which is not a file under " + root);
            }
            files.add(f);
            labels.add(names.indexOf(r[1]));
        }
        return names;
    }

    @Override public int size() { return files.size() * perFile; }
    @Override public int channels() { return pre.channels(); }
    @Override public int height() { return pre.height(); }
    @Override public int width() { return pre.width(); }
    @Override public int label(int index) { return labels[index / perFile]; }
    @Override public List<String> classNames() { return classNames; }

    @Override
    public String describe() {
        String crops = sampling.crops().cropping() ? String.format(java.util.Locale.ROOT, " × %d random crops (scale %s–%s, seed %d)",
                perFile, sampling.crops().minScale(), sampling.crops().maxScale(), sampling.seed()) : "";
        return String.format("%s (%d images%s%s, %d skipped%s)", root, files.size(), crops,
                classNames.isEmpty() ? ", unlabelled" : ", " + classNames.size() + " classes", skipped.size(),
                sampling.keepDamaged() ? ", damaged files kept" : "");
    }

    public List<Skipped> skipped() { return skipped; }

    /** Files that passed the header check but failed to decode (their samples are left out), one entry per file. */
    public List<Skipped> failed() {
        synchronized (failed) { // by name: two decoder threads record them in either order
            return failed.values().stream().sorted(java.util.Comparator.comparing(Skipped::file)).toList();
        }
    }

    /** Damaged files used anyway (only with keepDamaged), one entry per file, with what is wrong with them. */
    public List<Skipped> damaged() {
        synchronized (damaged) {
            return damaged.values().stream().sorted(java.util.Comparator.comparing(Skipped::file)).toList();
        }
    }

    /**
     * Failures and damage found by other processes over the same files (a distributed collect's executors decode the
     * images, not this one), added to {@link #failed()} and {@link #damaged()} so they are listed and counted here too.
     */
    public void recordFound(List<Skipped> failedFiles, List<Skipped> damagedFiles) {
        for (Skipped f : failedFiles) failed.putIfAbsent(f.file(), f);
        for (Skipped f : damagedFiles) damaged.putIfAbsent(f.file(), f);
    }

    /** Seconds the reader waited for background decodes: decoding that did not overlap the model's work. */
    public double decodeWaitSeconds() { return ahead.waitedSeconds(); }

    /** The file sample {@code index} comes from. */
    public Path file(int index) { return files.get(index / perFile); }

    /** Samples per file: K with random crops, else 1. */
    public int samplesPerFile() { return perFile; }

    /** The region of its file that sample {@code index} shows, in full-resolution pixels (the whole image without crops). */
    public RandomCrops.Box box(int index) {
        int f = index / perFile;
        if (!sampling.crops().cropping()) return new RandomCrops.Box(0, 0, widths[f], heights[f]);
        return RandomCrops.box(sampling.seed(), key(f), index % perFile, widths[f], heights[f], sampling.crops());
    }

    @Override
    public Source source(int index) {
        RandomCrops.Box b = box(index);
        return new Source(key(index / perFile), b.x(), b.y(), b.w(), b.h());
    }

    /** The file's path relative to the root, with '/' separators: the crops' seed key and the provenance name. */
    private String key(int f) {
        return root.relativize(files.get(f)).toString().replace(java.io.File.separatorChar, '/');
    }

    @Override
    public void copyImage(int index, float[] dst, int offset) {
        int f = index / perFile;
        int k = index % perFile;
        float[] img;
        int last = lastIndex;
        lastIndex = index;
        if (perFile > 1 && index != last + 1 && index != last && !(last == -1 && index == 0)) {
            // random access (the viewer picking examples): decode just this crop, not the 16 of its unit
            img = decode(f, k, 1)[0];
        } else {
            img = ahead.get(f * unitsPerFile + k / CROPS_PER_UNIT)[k % CROPS_PER_UNIT];
        }
        System.arraycopy(img, 0, dst, offset, img.length);
    }

    /** The decode unit sample {@code index} belongs to: its file's crops are decoded in units of {@value #CROPS_PER_UNIT}. */
    private int unitOf(int index) {
        return index / perFile * unitsPerFile + index % perFile / CROPS_PER_UNIT;
    }

    /** False when the sample's decode failed: its pixels are a black placeholder (its file is in {@link #failed()}). */
    @Override
    public boolean usable(int index) {
        return !failedUnits.contains(unitOf(index));
    }

    private int unitSize(int unit) {
        int k0 = (unit % unitsPerFile) * CROPS_PER_UNIT;
        return Math.min(CROPS_PER_UNIT, perFile - k0);
    }

    /**
     * The subsampling of the file for a unit's crops: the crop needing the most resolution decides. A crop read alone
     * (random access) uses its unit's step too, so its pixels do not depend on the order of reads.
     */
    private int unitStep(int f, int unitInFile) {
        int step = Integer.MAX_VALUE;
        int k0 = unitInFile * CROPS_PER_UNIT;
        for (int k = k0; k < Math.min(perFile, k0 + CROPS_PER_UNIT); k++) {
            RandomCrops.Box b = box(f * perFile + k);
            step = Math.min(step, ImageFiles.subsampling(widths[f], heights[f], b.w(), b.h(), pre.width(), pre.height(),
                    pre.filter()));
        }
        return step;
    }

    private float[][] decodeUnit(int unit) {
        return decode(unit / unitsPerFile, (unit % unitsPerFile) * CROPS_PER_UNIT, unitSize(unit));
    }

    /**
     * Decodes file f once for its samples k0 .. k0+n-1 (crops, or the whole image); a failure becomes black
     * placeholder samples (not usable()) and one entry in failed().
     */
    private float[][] decode(int f, int k0, int n) {
        float[][] out = new float[n][];
        try {
            if (!sampling.crops().cropping()) {
                int[] r = ImageFiles.resizedSize(widths[f], heights[f], pre.width(), pre.height(), pre.resize());
                int step = ImageFiles.subsampling(widths[f], heights[f], widths[f], heights[f], r[0], r[1], pre.filter());
                out[0] = new float[imageLength()];
                ImageFiles.toInput(decoded(f, step), pre, out[0], 0);
            } else {
                RandomCrops.Box[] boxes = new RandomCrops.Box[n];
                for (int i = 0; i < n; i++) boxes[i] = box(f * perFile + k0 + i);
                int step = unitStep(f, k0 / CROPS_PER_UNIT);
                var img = decoded(f, step);
                for (int i = 0; i < n; i++) {
                    out[i] = new float[imageLength()];
                    ImageFiles.cropToInput(img, step, boxes[i], pre, out[i], 0);
                }
            }
            return out;
        } catch (ImageFiles.UnreadableImageException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
            // before the samples are handed out, so usable() answers for them once copyImage returns
            failedUnits.add(f * unitsPerFile + k0 / CROPS_PER_UNIT);
            failed.putIfAbsent(key(f), new Skipped(key(f), e instanceof ImageFiles.UnreadableImageException ? e.getMessage()
                    : e.getClass().getSimpleName() + ": " + e.getMessage()));
            float black = pre.scaling().apply(0, 0);
            for (int i = 0; i < n; i++) {
                out[i] = new float[imageLength()];
                if (pre.channels() == 1) {
                    java.util.Arrays.fill(out[i], black);
                } else {
                    int area = pre.height() * pre.width();
                    for (int c = 0; c < 3; c++) java.util.Arrays.fill(out[i], c * area, (c + 1) * area, pre.scaling().apply(c, 0));
                }
            }
            return out;
        }
    }

    /** File f decoded with subsampling step; damage it was kept with is recorded in damaged(). */
    private java.awt.image.BufferedImage decoded(int f, int step) throws ImageFiles.UnreadableImageException {
        ImageFiles.Decoded d = ImageFiles.decode(files.get(f), step, sampling.limits());
        if (d.damage() != null) damaged.putIfAbsent(key(f), new Skipped(key(f), d.damage()));
        return d.image();
    }

    @Override
    public void close() {
        ahead.close();
    }
}
