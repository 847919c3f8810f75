package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.IdxDataset;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.SubsetDataset;
import org.atlas4j.model.ModelCard;
import org.atlas4j.train.DemoModel;
import org.atlas4j.train.DemoTrainer;
import org.atlas4j.util.Progress;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train-demo", mixinStandardHelpOptions = true,
        description = "Train the demo Fashion-MNIST CNN (fixed seed) and save it with its model card.")
final class TrainDemoCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.DataDir dataDirOption = new SharedOptions.DataDir();

    @Option(names = "--out", description = "Model file to write (default: ${DEFAULT-VALUE})")
    Path out = Path.of("models/fashion-mnist-cnn.zip");

    @Option(names = "--epochs", description = "Training epochs (default: ${DEFAULT-VALUE})")
    int epochs = DemoTrainer.Options.defaults().epochs();

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE})")
    long seed = DemoTrainer.Options.defaults().seed();

    @Option(names = "--limit", description = "Train on the first N training images only (quick checks)")
    Integer limit;

    @Override
    public Integer call() throws Exception {
        Path dataDir = dataDirOption.path();
        org.atlas4j.data.DataInstaller.ensureFashionMnist(dataDir);
        ImageDataset train = FashionMnist.train(dataDir);
        IdxDataset test = FashionMnist.test(dataDir);
        if (limit != null) train = SubsetDataset.firstN(train, limit);
        DemoTrainer.Options d = DemoTrainer.Options.defaults();
        var o = new DemoTrainer.Options(seed, epochs, d.batchSize(), d.learningRate(), d.widths());
        var r = DemoTrainer.train(train, test, o);
        DemoTrainer.save(r.net(), out);
        ModelCard card = new ModelCard(out.getFileName().toString(), new int[] {1, 28, 28}, FashionMnist.CLASS_NAMES,
                DemoModel.DEFAULT_LAYER, "pixels / 255",
                String.format(Locale.ROOT, "train-demo --seed %d --epochs %d; test accuracy %.4f on the 10,000 Fashion-MNIST test images",
                        seed, epochs, r.testAccuracy()));
        card.write(ModelCard.cardPath(out));
        Progress.info(String.format(Locale.ROOT, "saved %s: test accuracy %.4f, trained in %s", out, r.testAccuracy(),
                Progress.format(r.seconds())));
        return 0;
    }
}
