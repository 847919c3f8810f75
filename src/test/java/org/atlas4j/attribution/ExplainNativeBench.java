package org.atlas4j.attribution;

import java.nio.file.Path;
import java.util.List;

import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NativeGraph;
import org.atlas4j.model.NetGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measurement, not a test (off unless {@code -Datlas.explainBench=<fixture name>:<layer>[:batch]}): the native explain
 * pass on a real-size ONNX fixture (target/onnx-fixtures): buffer bytes per image, forward and forward+backward
 * (logits → input, keeping the layer's gradient) times, and where the time goes.
 */
@EnabledIfSystemProperty(named = "atlas.explainBench", matches = ".+")
@org.atlas4j.IntegrationTest
class ExplainNativeBench {
    @Test
    void measure() {
        String[] a = System.getProperty("atlas.explainBench").split(":");
        int b = a.length > 2 ? Integer.parseInt(a[2]) : 8;
        LoadedModel m = LoadedModel.load(Path.of("target/onnx-fixtures/" + a[0] + ".onnx"), null);
        NetGraph g = m.graph();
        int[] in = g.inputShape();
        String layerVar = g.layer(a[1]).variable();
        long t0 = System.nanoTime();
        NativeGraph.Compiled c = NativeGraph.compileVariables(g, g.logits(), List.of(layerVar), in[0], in[1], in[2]);
        System.out.printf("compile %.1f s, unsupported: %s%n", (System.nanoTime() - t0) / 1e9, c.unsupported());
        NativeGraph e = c.engine();
        System.out.printf("session(1) %d MB, inference(1) %d MB%n", e.session(1).bufferBytes() >> 20, e.inferenceSession(1).bufferBytes() >> 20);
        NativeGraph.Session s = e.session(b);
        System.out.printf("session(%d) %d MB%n", b, s.bufferBytes() >> 20);
        INDArray x = Nd4j.rand(DataType.FLOAT, b, in[0], in[1], in[2]);
        INDArray seed = Nd4j.zeros(DataType.FLOAT, b, g.classCount());
        for (int i = 0; i < b; i++) seed.putScalar(i, i, 1);
        s.forward(x);
        s.backwardTo(seed, e.inputName());
        long t1 = System.nanoTime();
        int reps = 2;
        for (int r = 0; r < reps; r++) s.forward(x);
        long t2 = System.nanoTime();
        for (int r = 0; r < reps; r++) {
            s.forward(x);
            s.backwardTo(seed, e.inputName());
        }
        long t3 = System.nanoTime();
        for (int r = 0; r < reps; r++) {
            s.forward(x);
            s.backwardTo(seed, layerVar);
        }
        long t4 = System.nanoTime();
        System.out.printf("batch %d: forward %.1f img/s, forward+backward to input %.1f img/s, to layer %.1f img/s%n", b,
                reps * b / ((t2 - t1) / 1e9), reps * b / ((t3 - t2) / 1e9), reps * b / ((t4 - t3) / 1e9));
        System.out.print(s.profile());
    }
}
