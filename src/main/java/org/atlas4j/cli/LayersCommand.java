package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NetGraph;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "layers", mixinStandardHelpOptions = true,
        description = "List a model's layers with output shapes and which can be used for an atlas.")
final class LayersCommand implements Callable<Integer> {
    @Option(names = "--model", description = "DL4J model zip (default: ${DEFAULT-VALUE})")
    Path model = Path.of("models/fashion-mnist-cnn.zip");

    @Option(names = "--input-shape", split = ",", description = "C,H,W when the model has no card")
    int[] inputShape;

    @Override
    public Integer call() {
        LoadedModel m = LoadedModel.load(model, inputShape);
        System.out.printf("%s  (input %d×%d×%d, sha256 %s…)%n", model, m.graph().inputShape()[0], m.graph().inputShape()[1],
                m.graph().inputShape()[2], m.sha256().substring(0, 12));
        System.out.printf("%-4s %-14s %-22s %-14s %s%n", "#", "layer", "type", "output", "atlas?");
        for (NetGraph.LayerShape s : m.graph().shapes()) {
            String use = s.spatial() ? "yes" + (s.node().name().equals(m.card().defaultLayer()) ? " (default)" : "") : "no (not spatial)";
            System.out.printf("%-4d %-14s %-22s %-14s %s%n", s.node().index(), s.node().name(), s.node().type(),
                    s.shapeString(), use);
        }
        return 0;
    }
}
