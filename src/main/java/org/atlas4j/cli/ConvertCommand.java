package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.io.AtomicFiles;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.ModelCard;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.deeplearning4j.util.ModelSerializer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Import a Keras .h5 or TF.js model once and save it as a DL4J zip (with its card) for fast reloading. "
                + "ONNX models are not converted: every command reads the .onnx file itself.")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Keras .h5, TF.js model.json or its folder (or a DL4J zip)")
    Path model;

    @Parameters(index = "1", description = "Output DL4J zip, e.g. models/my-model.zip")
    Path out;

    @Mixin
    SharedOptions.ModelFormat format = new SharedOptions.ModelFormat();

    @Override
    public Integer call() throws Exception {
        if (!out.getFileName().toString().endsWith(".zip")) throw new UserError("the output must be a .zip file, got " + out);
        long t0 = System.nanoTime();
        LoadedModel m = LoadedModel.load(model, format.inputShape, format.format());
        if (m.network() == null) {
            throw new UserError("convert writes DL4J zips, and an " + m.format().name().toLowerCase() + " model has no DL4J "
                    + "network; use " + model + " directly (--model " + model + ") in every command");
        }
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        AtomicFiles.write(out, o -> ModelSerializer.writeModel(m.network(), o, false));
        ModelCard c = m.card();
        Path cardFile = ModelCard.cardPath(out);
        c.forCopy(out.getFileName().toString(), m.graph().inputShape(),
                "converted from " + model + " (" + m.format().name().toLowerCase() + ", sha256 " + m.sha256() + ")").write(cardFile);
        Progress.info(String.format("convert: %s → %s and %s in %.1f s", model, out, cardFile, (System.nanoTime() - t0) / 1e9));
        return 0;
    }
}
