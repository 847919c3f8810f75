package org.atlas4j.data;

import java.util.List;

/** The images of another dataset at the given indices, in that order. */
public final class SubsetDataset implements ImageDataset {
    private final ImageDataset base;
    private final int[] indices;

    public SubsetDataset(ImageDataset base, int[] indices) {
        this.base = base;
        this.indices = indices.clone();
    }

    public static ImageDataset firstN(ImageDataset base, int n) {
        if (n >= base.size()) {
            return base;
        }
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        return new SubsetDataset(base, idx);
    }

    /** The dataset the images are selected from. */
    public ImageDataset base() { return base; }

    @Override public int size() { return indices.length; }
    @Override public int channels() { return base.channels(); }
    @Override public int height() { return base.height(); }
    @Override public int width() { return base.width(); }
    @Override public void copyImage(int index, float[] dst, int offset) { base.copyImage(indices[index], dst, offset); }
    @Override public boolean usable(int index) { return base.usable(indices[index]); }
    @Override public int label(int index) { return base.label(indices[index]); }
    @Override public Source source(int index) { return base.source(indices[index]); }
    @Override public List<String> classNames() { return base.classNames(); }
    @Override
    public String describe() {
        boolean prefix = true;
        for (int i = 0; i < indices.length && prefix; i++) prefix = indices[i] == i;
        return base.describe() + (prefix ? " (first " + indices.length + ")" : " (" + indices.length + " selected)");
    }
}
