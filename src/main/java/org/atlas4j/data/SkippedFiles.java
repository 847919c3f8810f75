package org.atlas4j.data;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.io.Json;
import org.atlas4j.util.Progress;

/** The files of an image folder left out of a collect (or kept damaged): listed in a file, counted in the log. */
public final class SkippedFiles {
    /** Written next to the collect stage's outputs. */
    public static final String FILE = "skipped-files.json";

    private SkippedFiles() {
    }

    /** The image folder behind a dataset (also under a limit), or null for other datasets. */
    public static FolderDataset folderBehind(ImageDataset d) {
        if (d instanceof SubsetDataset s) d = s.base();
        return d instanceof FolderDataset fd ? fd : null;
    }

    /**
     * After a collect over an image folder: lists the files left out (see {@link #write}), logs how long decoding held
     * the model up, and returns these facts for the run's provenance (unreadable files are counted, never lost).
     */
    public static Map<String, Object> report(FolderDataset fd, Path dir, int count, double collectSeconds) {
        Progress.info(String.format(Locale.ROOT, "collect: waited %.1f s of %.1f s for image decoding (the rest overlapped "
                + "the model)", fd.decodeWaitSeconds(), collectSeconds));
        write(fd, dir, count);
        return Map.of("skippedFiles", fd.skipped(), "failedToDecode", fd.failed(), "damagedKept", fd.damaged(),
                "decodeWaitSeconds", fd.decodeWaitSeconds());
    }

    /** Writes {@code dir/skipped-files.json} and, when files were left out or kept damaged, says how many. */
    public static Path write(FolderDataset fd, Path dir, int count) {
        Path list = dir.resolve(FILE);
        Map<String, Object> lists = new LinkedHashMap<>(); // a fixed key order: Map.of's varies by JVM
        lists.put("skipped", fd.skipped());
        lists.put("failedToDecode", fd.failed());
        lists.put("damagedKept", fd.damaged());
        Json.write(list, lists);
        if (!fd.skipped().isEmpty() || !fd.failed().isEmpty() || !fd.damaged().isEmpty()) {
            // files that fail only when decoded are left out of the atlas like those refused at open
            Progress.info(String.format(Locale.ROOT, "collect: %d %s, %d skipped (listed in %s: %d unreadable, damaged or too "
                    + "large, %d failed to decode)%s", count, fd.samplesPerFile() > 1 ? "samples" : "images",
                    fd.skipped().size() + fd.failed().size(), list, fd.skipped().size(), fd.failed().size(),
                    fd.damaged().isEmpty() ? "" : ", " + fd.damaged().size() + " damaged but kept (--keep-damaged)"));
        }
        return list;
    }
}
