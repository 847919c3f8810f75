package org.atlas4j.data;

import java.nio.file.Path;
import java.util.List;

import org.atlas4j.io.IdxReader;
import org.atlas4j.io.IdxReader.IdxImages;

/** MNIST-style IDX images + labels; pixels scaled to [0,1] as the demo model expects. */
public final class IdxDataset implements ImageDataset {
    private final IdxImages images;
    private final int[] labels;
    private final List<String> classNames;
    private final String description;

    public IdxDataset(IdxImages images, int[] labels, List<String> classNames, String description) {
        if (labels != null && labels.length != images.count()) {
            throw new org.atlas4j.util.UserError("images file has " + images.count() + " images but labels file has "
                    + labels.length + " labels; pass matching files");
        }
        this.images = images;
        this.labels = labels;
        this.classNames = classNames;
        this.description = description;
    }

    public static IdxDataset read(Path imagesFile, Path labelsFile, List<String> classNames) {
        IdxImages images = IdxReader.readImages(imagesFile);
        int[] labels = labelsFile == null ? null : IdxReader.readLabels(labelsFile);
        return new IdxDataset(images, labels, classNames, "IDX " + imagesFile);
    }

    /** Concatenation, e.g. Fashion-MNIST train (60k) followed by test (10k). */
    public static IdxDataset concat(IdxDataset a, IdxDataset b, String description) {
        if (a.images.rows() != b.images.rows() || a.images.cols() != b.images.cols()) {
            throw new org.atlas4j.util.UserError("cannot concatenate IDX sets of different image sizes");
        }
        byte[] px = new byte[a.images.pixels().length + b.images.pixels().length];
        System.arraycopy(a.images.pixels(), 0, px, 0, a.images.pixels().length);
        System.arraycopy(b.images.pixels(), 0, px, a.images.pixels().length, b.images.pixels().length);
        int[] labels = null;
        if (a.labels != null && b.labels != null) {
            labels = new int[a.labels.length + b.labels.length];
            System.arraycopy(a.labels, 0, labels, 0, a.labels.length);
            System.arraycopy(b.labels, 0, labels, a.labels.length, b.labels.length);
        }
        IdxImages images = new IdxImages(a.images.count() + b.images.count(), a.images.rows(), a.images.cols(), px);
        return new IdxDataset(images, labels, a.classNames, description);
    }

    @Override public int size() { return images.count(); }
    @Override public int channels() { return 1; }
    @Override public int height() { return images.rows(); }
    @Override public int width() { return images.cols(); }

    @Override
    public void copyImage(int index, float[] dst, int offset) {
        byte[] px = images.pixels();
        int n = images.rows() * images.cols();
        int base = index * n;
        for (int i = 0; i < n; i++) {
            dst[offset + i] = (px[base + i] & 0xff) / 255f;
        }
    }

    @Override public int label(int index) { return labels == null ? -1 : labels[index]; }
    @Override public List<String> classNames() { return classNames; }
    @Override public String describe() { return description; }

    /** A view of the first {@code n} images (for quick runs and tests). */
    public ImageDataset limit(int n) {
        return SubsetDataset.firstN(this, n);
    }
}
