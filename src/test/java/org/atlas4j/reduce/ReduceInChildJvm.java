package org.atlas4j.reduce;

import java.nio.file.Path;

import org.atlas4j.io.Npy;
import org.atlas4j.util.Progress;

/** Test helper run in a fresh JVM: reads an N×D .npy, writes the raw UMAP layout. Args: in out seed. */
public final class ReduceInChildJvm {
    private ReduceInChildJvm() {
    }

    public static void main(String[] args) {
        Progress.setQuiet(true);
        Npy.NpyArray x = Npy.read(Path.of(args[0]));
        float[] y = Reducer.fit(x.data(), x.rows(), x.cols(), options(Long.parseLong(args[2])));
        Npy.writeFloat32(Path.of(args[1]), y, x.rows(), 2);
    }

    /** The default method and metric, 50 epochs. */
    static Reducer.Options options(long seed) {
        return new Reducer.Options("umap", 15, 0.1, "cosine", 50, 50, 10_000, seed);
    }
}
