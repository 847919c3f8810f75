package org.atlas4j.data;

import java.util.List;

/** A labelled image collection already converted to the model's input (NCHW, float). */
public interface ImageDataset {
    int size();

    int channels();

    int height();

    int width();

    /** Writes image {@code index} as channels×height×width floats at {@code offset}. */
    void copyImage(int index, float[] dst, int offset);

    /**
     * False when sample {@code index} could not be decoded (its pixels are placeholders): collect leaves it out of the
     * atlas. Known once {@link #copyImage} has returned for it.
     */
    default boolean usable(int index) {
        return true;
    }

    /** True label of image {@code index}, or -1 when unlabelled. */
    int label(int index);

    List<String> classNames();

    /** Human-readable description for logs and provenance. */
    String describe();

    /**
     * Where sample {@code index} comes from: its file (relative to the dataset's root) and the region shown, in the
     * file's full-resolution pixels. Null for datasets that are not image files (IDX, Fashion-MNIST).
     */
    default Source source(int index) {
        return null;
    }

    /** A sample's provenance: a file and the box of it the sample shows (the whole image, or a random crop). */
    record Source(String file, int x, int y, int w, int h) {
    }

    default int imageLength() {
        return channels() * height() * width();
    }
}
