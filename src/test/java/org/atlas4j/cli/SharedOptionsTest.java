package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.run.RunConfig;
import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One way to say each option: read from picocli's model of the whole command line (not from usage text), every option
 * that more than one command takes is declared once, in {@link RunOptions} or a {@link SharedOptions} mixin, so its
 * name, description, default, type and splitting are the same wherever {@code --help} lists it; and every stage
 * command takes the same {@code --force}.
 */
@org.atlas4j.UnitTest
class SharedOptionsTest {
    /**
     * Names one command uses for something else, kept so that no user's command line breaks: command → why. Every
     * other option name taken by two commands must come from a mixin.
     */
    static final Map<String, Map<String, String>> HOMONYMS = Map.of(
            "--images", Map.of("bench", "a count of images", "explain", "one image file or a folder"),
            "--method", Map.of("explain", "attribution methods, not the layout method"),
            "--layer", Map.of("explain", "the attribution layer: by default the last spatial one, not the card's"),
            "--seed", Map.of("explain", "SmoothGrad noise, default 42", "train-demo", "training, its own default"),
            "--epochs", Map.of("train-demo", "training epochs, not UMAP's"),
            "--limit", Map.of("train-demo", "training images only"),
            "--force", Map.of("explain", "recomputes images whose maps exist: explain has no stages"),
            "--batch", Map.of("bench", "images per pass of the peer comparison", "explain", "images per pass"),
            "--out", Map.of("explain", "an output folder", "train-demo", "a model file"),
            "--class", Map.of("explain", "also top1 or top2: the class each image's map is for"));

    /** The commands that run pipeline stages: each must take the shared --force and pass it on. */
    static final List<String> STAGE_COMMANDS = List.of("collect", "reduce", "grid", "render", "stitch", "run", "demo",
            "class-atlas", "compare", "compare-layers", "viewer");

    static final Set<Class<?>> MIXINS = Set.of(RunOptions.class, SharedOptions.Model.class, SharedOptions.ModelFormat.class,
            SharedOptions.Layer.class, SharedOptions.DataDir.class, SharedOptions.ImageLimits.class, SharedOptions.Levels.class,
            SharedOptions.Force.class, SharedOptions.Spark.class);

    /** Every subcommand of {@code atlas}, by name, as picocli models it. */
    static Map<String, CommandSpec> commands() {
        Map<String, CommandSpec> all = new TreeMap<>();
        new CommandLine(new Main()).getSubcommands().forEach((name, cl) -> all.put(name, cl.getCommandSpec()));
        return all;
    }

    /** The class that declares an option's field (a command's own, or a mixin); null for picocli's own. */
    static Class<?> declaredIn(OptionSpec o) {
        // --help and --version come from picocli's own mixin: the same everywhere by construction
        return o.userObject() instanceof Field f && !f.getDeclaringClass().getName().startsWith("picocli.")
                ? f.getDeclaringClass() : null;
    }

    /** What --help shows of an option, and how it parses: equal signatures read and behave the same. */
    static List<Object> signature(OptionSpec o) {
        return List.of(Arrays.asList(o.names()), Arrays.asList(o.description()), String.valueOf(o.defaultValue()),
                o.type(), o.splitRegex(), o.arity().toString(), o.paramLabel(), o.required(), o.hidden());
    }

    /** The reference declaration of each shared option: the mixins' own models. */
    static Map<String, OptionSpec> sharedOptions() throws Exception {
        Map<String, OptionSpec> shared = new LinkedHashMap<>();
        for (Class<?> c : MIXINS) {
            var ctor = c.getDeclaredConstructor();
            ctor.setAccessible(true);
            for (OptionSpec o : CommandSpec.forAnnotatedObject(ctor.newInstance()).options()) {
                shared.put(o.longestName(), o);
            }
        }
        return shared;
    }

    @Test
    void everyOptionTwoCommandsTakeIsDeclaredOnceWithOneDescription() throws Exception {
        Map<String, OptionSpec> shared = sharedOptions();
        Map<String, List<String>> takenBy = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        for (var cmd : commands().entrySet()) {
            for (OptionSpec o : cmd.getValue().options()) {
                Class<?> owner = declaredIn(o);
                if (owner == null) continue;
                String name = o.longestName();
                takenBy.computeIfAbsent(name, k -> new ArrayList<>()).add(cmd.getKey());
                boolean homonym = HOMONYMS.getOrDefault(name, Map.of()).containsKey(cmd.getKey());
                if (homonym) {
                    if (MIXINS.contains(owner)) problems.add(cmd.getKey() + " " + name + " is listed as a homonym but is the shared one");
                    continue;
                }
                if (shared.containsKey(name)) {
                    if (!MIXINS.contains(owner)) problems.add(cmd.getKey() + " declares its own " + name + " instead of the mixin's");
                    if (!signature(o).equals(signature(shared.get(name)))) {
                        problems.add(cmd.getKey() + " " + name + ": " + signature(o) + " differs from the shared " + signature(shared.get(name)));
                    }
                }
            }
        }
        // a name two commands take, outside the mixins and the homonyms, is a copied option block
        takenBy.forEach((name, cmds) -> {
            List<String> own = cmds.stream().filter(c -> !HOMONYMS.getOrDefault(name, Map.of()).containsKey(c)).toList();
            if (own.size() > 1 && !shared.containsKey(name)) problems.add(name + " is declared separately by " + own);
        });
        HOMONYMS.forEach((name, cmds) -> cmds.keySet().forEach(c -> {
            if (!takenBy.getOrDefault(name, List.of()).contains(c)) problems.add("stale homonym: " + c + " has no " + name);
        }));
        if (!problems.isEmpty()) fail(String.join("\n", problems));
    }

    @Test
    void everyStageCommandTakesTheSharedForce() {
        Map<String, CommandSpec> all = commands();
        for (String cmd : STAGE_COMMANDS) {
            CommandSpec spec = all.get(cmd);
            assertNotNull(spec, "no command " + cmd);
            OptionSpec force = spec.findOption("--force");
            assertNotNull(force, cmd + " does not take --force");
            assertEquals(SharedOptions.Force.class, declaredIn(force), cmd + "'s --force is not the shared one");
        }
    }

    @Test
    void theStatedDefaultsAreThePipelines() {
        assertEquals(new RunConfig().model, SharedOptions.DEMO_MODEL);
        assertEquals(FashionMnist.DEFAULT_DIR.toString(), SharedOptions.FASHION_MNIST_DIR);
        assertEquals(new RunConfig().data.maxImageMegapixels, new SharedOptions.ImageLimits().limits().maxPixels() / 1e6, 1e-9);
        assertTrue(new SharedOptions.ImageLimits().limits().equals(org.atlas4j.data.ImageFiles.Limits.DEFAULT));
        assertFalse(new SharedOptions.Force().force);
    }

    @Test
    void countBoundsAreRefusedInOneForm() {
        SharedOptions.atLeast("--top", 0, 0);
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.atlas4j.util.UserError.class,
                () -> SharedOptions.atLeast("--top", -1, 0));
        assertEquals("--top must be >= 0, got -1", e.getMessage());
    }
}
