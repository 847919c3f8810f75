package org.atlas4j.patch;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.atlas4j.classatlas.ClassFilter;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.ModelInput;
import org.atlas4j.render.Renderer;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * The paper's patch test on a run: pastes an icon (a PNG, or a cell number of the run's render) onto test images of
 * class {@code from} and reports how often the prediction flips to {@code to}, with noise and real-image controls;
 * writes patch-test.{json,txt,svg} to {@code <run>/patch-<from>-to-<to>/}.
 */
public final class PatchTestJob {
    private final AtlasRun run;

    public PatchTestJob(AtlasRun run) {
        this.run = run;
    }

    public PatchTest.Report run(String from, String to, String icon, int images, double[] sizes) throws Exception {
        List<String> names = run.model().card().classNames();
        int ia = ClassFilter.resolve(from, names);
        int ib = ClassFilter.resolve(to, names);
        if (ia == ib) throw new UserError("patch-test needs two different classes, got '" + from + "' and '" + to + "'");
        ImageDataset all = run.data();
        // test images: the last 10,000 of the embedded default (Fashion-MNIST's test split), else all images
        int start = "fashion-mnist".equals(run.config().data.type) && all.size() == 70_000 ? 60_000 : 0;
        List<Integer> a = new ArrayList<>();
        int realB = -1;
        for (int i = start; i < all.size(); i++) {
            if (all.label(i) == ia && a.size() < images) a.add(i);
            if (all.label(i) == ib && realB < 0) realB = i;
        }
        if (a.isEmpty() || realB < 0) throw new UserError("no test images of class " + from + " or " + to + " in " + all.describe());
        Path iconFile = iconFile(icon);
        BufferedImage img = ImageIO.read(iconFile.toFile());
        if (img == null || img.getWidth() != img.getHeight()) throw new UserError("icon " + iconFile + " is not a square image");
        ModelInput input = run.modelInput();
        float[] iconUnit = PatchTest.readImage(img, all.channels());
        float[] iconPx = new float[iconUnit.length]; // the icon as the model sees it, like the images it is pasted on
        input.toModel(iconUnit, iconPx, 1, img.getWidth() * img.getHeight());
        float[] b = new float[all.imageLength()];
        all.copyImage(realB, b, 0);
        String fn = ia < names.size() ? names.get(ia) : from;
        String tn = ib < names.size() ? names.get(ib) : to;
        var report = PatchTest.run(run.model().graph(), all, a.stream().mapToInt(Integer::intValue).toArray(), ib, iconPx,
                img.getWidth(), b, sizes, run.config().seed, fn, tn, input);
        Path out = run.dir().resolve("patch-" + slug(fn) + "-to-" + slug(tn));
        Files.createDirectories(out);
        PatchTest.write(report, sizes, out);
        Progress.info(Files.readString(out.resolve("patch-test.txt")));
        return report;
    }

    /** The icon: a PNG file, or the tile of a cell number in the run's render. */
    private Path iconFile(String icon) {
        Path f = Files.exists(Path.of(icon)) ? Path.of(icon)
                : run.stageDir("render").resolve(Renderer.TILES).resolve(String.format(Locale.ROOT, "cell-%04d.png", parseCell(icon)));
        if (!Files.exists(f)) {
            throw new UserError("icon " + icon + " not found: give a PNG file or a cell number rendered in " + run.stageDir("render"));
        }
        return f;
    }

    private static int parseCell(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new UserError("--icon takes a PNG file or a cell number, got '" + s + "'");
        }
    }

    private static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }
}
