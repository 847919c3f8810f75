package org.atlas4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Image files as a dataset: a folder tree with one sub-folder per class (ImageNet/Keras style), a flat folder with a
 * labels CSV ({@code file,label} per line, label a name or index), or a flat folder without labels. Files whose header
 * no Java image reader accepts are skipped, counted and listed at open; a file that fails later, when its pixels are
 * decoded, becomes a black image and is listed in {@link #failed()}. Images are decoded on background threads ahead
 * of the reader (bounded window), so inference does not wait on disk.
 */
public final class FolderDataset implements ImageDataset, AutoCloseable {
    /** A file left out, with the reason. */
    public record Skipped(String file, String reason) {
    }

    private static final int WINDOW = 256;

    private final Path root;
    private final List<Path> files;
    private final int[] labels;
    private final List<String> classNames;
    private final ImageFiles.Preprocess pre;
    private final List<Skipped> skipped;
    private final List<Skipped> failed = java.util.Collections.synchronizedList(new ArrayList<>());
    private final ExecutorService pool;
    private final Map<Integer, Future<float[]>> ahead = new ConcurrentHashMap<>();
    private int nextToSchedule;

    private FolderDataset(Path root, List<Path> files, int[] labels, List<String> classNames, ImageFiles.Preprocess pre,
            List<Skipped> skipped) {
        this.root = root;
        this.files = files;
        this.labels = labels;
        this.classNames = classNames;
        this.pre = pre;
        this.skipped = List.copyOf(skipped);
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "image-decoder");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * @param labelsCsv null for class sub-folders (or an unlabelled flat folder)
     */
    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre) {
        return open(root, labelsCsv, pre, List.of());
    }

    /**
     * @param modelClasses the model's class names (its card), or empty: when every class folder (or CSV label) names
     *        one of them (case-insensitive) or is a valid class index, labels are the model's class indices, so
     *        captions, accuracy, class atlases and the patch test agree with the model; when none does, labels stay
     *        the folders' own order (a note says so); a partial match is refused with the names that do not match
     */
    public static FolderDataset open(Path root, Path labelsCsv, ImageFiles.Preprocess pre, List<String> modelClasses) {
        if (!Files.isDirectory(root)) throw new UserError("image folder not found: " + root.toAbsolutePath());
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<String> names;
        List<Skipped> skipped = new ArrayList<>();
        if (labelsCsv != null) {
            names = readCsv(root, labelsCsv, files, labels);
        } else {
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
        }
        int[] toModel = modelClassIndices(names, modelClasses, root);
        if (toModel != null) {
            for (int i = 0; i < labels.size(); i++) if (labels.get(i) >= 0) labels.set(i, toModel[labels.get(i)]);
            List<String> folderNames = names;
            names = List.copyOf(modelClasses);
            perClassCheck(root, folderNames, toModel, labels);
        }
        // header check: cheap, and it keeps unreadable files out of the dataset (so indices stay dense)
        List<Path> ok = new ArrayList<>();
        List<Integer> okLabels = new ArrayList<>();
        int[] perClass = new int[names.size()];
        for (int i = 0; i < files.size(); i++) {
            String why = headerProblem(files.get(i));
            if (why == null) {
                ok.add(files.get(i));
                okLabels.add(labels.get(i));
                if (labels.get(i) >= 0) perClass[labels.get(i)]++;
            } else {
                skipped.add(new Skipped(root.relativize(files.get(i)).toString(), why));
            }
        }
        if (ok.isEmpty()) {
            throw new UserError("no readable images in " + root + (skipped.isEmpty() ? "" : " (" + skipped.size()
                    + " files skipped, e.g. " + skipped.get(0).file() + ": " + skipped.get(0).reason() + ")"));
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
        return new FolderDataset(root, ok, okLabels.stream().mapToInt(Integer::intValue).toArray(), List.copyOf(names), pre,
                skipped);
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

    /** Null when a Java image reader accepts the file's header, else why not. */
    static String headerProblem(Path f) {
        try (ImageInputStream in = ImageIO.createImageInputStream(f.toFile())) {
            if (in == null) return "unreadable file";
            var readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return "not an image format Java reads (" + String.join(", ", ImageFiles.readableFormats()) + ")";
            ImageReader r = readers.next();
            try {
                r.setInput(in);
                if (r.getWidth(0) < 1 || r.getHeight(0) < 1) return "empty image";
            } finally {
                r.dispose();
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "corrupt or unsupported image (" + e.getMessage() + ")";
        }
    }

    @Override public int size() { return files.size(); }
    @Override public int channels() { return pre.channels(); }
    @Override public int height() { return pre.height(); }
    @Override public int width() { return pre.width(); }
    @Override public int label(int index) { return labels[index]; }
    @Override public List<String> classNames() { return classNames; }

    @Override
    public String describe() {
        return String.format("%s (%d images%s, %d skipped)", root, files.size(),
                classNames.isEmpty() ? ", unlabelled" : ", " + classNames.size() + " classes", skipped.size());
    }

    public List<Skipped> skipped() { return skipped; }

    /** Files that passed the header check but failed to decode (used as black images). */
    public List<Skipped> failed() { return List.copyOf(failed); }

    public Path file(int index) { return files.get(index); }

    @Override
    public void copyImage(int index, float[] dst, int offset) {
        float[] img;
        try {
            img = schedule(index).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        ahead.remove(index);
        System.arraycopy(img, 0, dst, offset, img.length);
    }

    /** The decode of {@code index}, started now if not yet; also starts the next images up to the window. */
    private synchronized Future<float[]> schedule(int index) {
        if (nextToSchedule < index || nextToSchedule > index + WINDOW) nextToSchedule = index; // random access: restart
        while (nextToSchedule < Math.min(size(), index + WINDOW)) {
            int i = nextToSchedule++;
            ahead.computeIfAbsent(i, k -> pool.submit(() -> decode(k)));
        }
        return ahead.computeIfAbsent(index, k -> pool.submit(() -> decode(k)));
    }

    private float[] decode(int i) {
        float[] out = new float[imageLength()];
        try {
            ImageFiles.load(files.get(i), pre, out, 0);
        } catch (ImageFiles.UnreadableImageException | RuntimeException e) {
            failed.add(new Skipped(root.relativize(files.get(i)).toString(), e.getMessage()));
            java.util.Arrays.fill(out, pre.scaling().apply(0, 0));
        }
        return out;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
