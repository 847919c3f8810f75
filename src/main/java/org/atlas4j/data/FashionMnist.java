package org.atlas4j.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The embedded default dataset: Fashion-MNIST from the Debian package {@code dataset-fashion-mnist}. */
public final class FashionMnist {
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final String DEBIAN_PACKAGE = "dataset-fashion-mnist";
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FashionMnist() {
    }

    /** Thrown when the files are absent; the message says how to get them. */
    public static final class MissingDataException extends RuntimeException {
        public MissingDataException(String message) {
            super(message);
        }
    }

    public static Path file(Path dir, boolean train, boolean images) {
        return dir.resolve((train ? "train" : "t10k") + (images ? "-images-idx3-ubyte.gz" : "-labels-idx1-ubyte.gz"));
    }

    public static boolean isPresent(Path dir) {
        for (boolean train : new boolean[] {true, false}) {
            for (boolean images : new boolean[] {true, false}) {
                if (!Files.isReadable(file(dir, train, images))) {
                    return false;
                }
            }
        }
        return true;
    }

    public static void requirePresent(Path dir) {
        if (!isPresent(dir)) {
            throw new MissingDataException("Fashion-MNIST not found in " + dir + " (expected train-/t10k-{images-idx3,labels-idx1}-ubyte.gz).\n"
                    + "Install it with:  sudo apt-get install " + DEBIAN_PACKAGE + "\n"
                    + "or pass --data-dir <folder holding those four files>.");
        }
    }

    public static IdxDataset train(Path dir) {
        requirePresent(dir);
        return IdxDataset.read(file(dir, true, true), file(dir, true, false), CLASS_NAMES);
    }

    public static IdxDataset test(Path dir) {
        requirePresent(dir);
        return IdxDataset.read(file(dir, false, true), file(dir, false, false), CLASS_NAMES);
    }

    /** All 70,000 images: the 60,000 training images followed by the 10,000 test images. */
    public static IdxDataset all(Path dir) {
        return IdxDataset.concat(train(dir), test(dir), "Fashion-MNIST train+test (" + dir + ")");
    }
}
