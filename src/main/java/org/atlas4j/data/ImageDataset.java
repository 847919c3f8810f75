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

    /** True label of image {@code index}, or -1 when unlabelled. */
    int label(int index);

    List<String> classNames();

    /** Human-readable description for logs and provenance. */
    String describe();

    default int imageLength() {
        return channels() * height() * width();
    }
}
