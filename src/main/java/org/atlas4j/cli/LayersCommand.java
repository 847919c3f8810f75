package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.attribution.CamHead;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.UserError;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "layers", mixinStandardHelpOptions = true,
        description = "List a model's layers with output shapes, which can be used for an atlas (spatial) and for CAM.")
final class LayersCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.Model modelOptions = new SharedOptions.Model();

    @Option(names = "--all", description = "ONNX models: list every module scope (default: two levels, e.g. layer3.5)")
    boolean all;

    @Override
    public Integer call() {
        Path model = modelOptions.path();
        LoadedModel m = modelOptions.load();
        int[] in = m.graph().inputShape();
        System.out.printf("%s  (%s, input %d×%d×%d%s, %d classes, sha256 %s…)%n", model, m.format().name().toLowerCase(),
                in[0], in[1], in[2], m.channelsLast() ? ", NHWC in DL4J" : "",
                m.graph().logits() == null ? 0 : m.graph().classCount(), m.sha256().substring(0, 12));
        // ONNX exports list one layer per module scope (ResNet-50: 129): by default two levels (layer3, layer3.5)
        java.util.List<NetGraph.LayerShape> rows = m.graph().shapes().stream()
                .filter(s -> all || m.format() != LoadedModel.Format.ONNX || s.node().name().split("\\.").length <= 2).toList();
        int width = Math.max(16, rows.stream().mapToInt(s -> s.node().name().length()).max().orElse(0));
        String row = "%-4s %-" + width + "s %-26s %-14s %-18s %s%n";
        System.out.printf(row, "#", "layer", "type", "output", "atlas?", "CAM?");
        for (NetGraph.LayerShape s : rows) {
            String use = s.spatial() ? "yes" + (s.node().name().equals(m.card().defaultLayer()) ? " (default)" : "") : "no (not spatial)";
            String cam = "-";
            if (s.spatial()) {
                try {
                    CamHead.find(m, s.node().name());
                    cam = "yes";
                } catch (UserError e) {
                    cam = "no (use gradcam)";
                }
            }
            System.out.printf(row, s.node().index(), s.node().name(), s.node().type(), s.shapeString(), use, cam);
        }
        int hidden = m.graph().nodes().size() - rows.size();
        if (hidden > 0) {
            System.out.printf("(%d deeper module scopes not shown: --all lists them; raw ONNX node and tensor names such as "
                    + "/layer3/layer3.5/relu_2/Relu are accepted too)%n", hidden);
        }
        return 0;
    }
}
