package org.atlas4j.cli;

import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.io.DataFormatException;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.UserError;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code atlas} command line: a thin layer over the pipeline stages. */
@Command(name = "atlas", mixinStandardHelpOptions = true, version = "atlas4j 0.1.0",
        description = "Activation atlases for convolutional networks on the JVM.",
        subcommands = {DemoCommand.class, RunCommand.class, CollectCommand.class, ReduceCommand.class,
                GridCommand.class, RenderCommand.class, StitchCommand.class, LayersCommand.class,
                FidelityCommand.class, ClassAtlasCommand.class, CompareCommand.class, PatchTestCommand.class, CompareLayersCommand.class, ExplainCommand.class, ConvertCommand.class, ViewerCommand.class, ServeCommand.class, TrainDemoCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        org.atlas4j.util.MemoryTrace.startIfRequested();
        System.exit(run(args));
    }

    /** This command's words, as the run-folder lock names its holder. */
    private static volatile String commandLine = "atlas";

    /** Locks a run folder for this command's life: a second writer is refused with the holder's pid, command and start. */
    static org.atlas4j.run.RunLock lockRun(java.nio.file.Path runDir) {
        return org.atlas4j.run.RunLock.acquire(runDir, commandLine);
    }

    public static int run(String... args) {
        commandLine = "atlas " + String.join(" ", args);
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable e = ex;
            if (e instanceof UncheckedIOException u && u.getCause() != null) e = u.getCause();
            if (isUserError(e)) {
                cmd.getErr().println("error: " + message(e));
                if (Boolean.getBoolean("atlas4j.debug")) e.printStackTrace(cmd.getErr());
                return 2;
            }
            cmd.getErr().println("internal error: " + e);
            e.printStackTrace(cmd.getErr());
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // JavaCPP's "Physical memory usage is too high" and heap exhaustion: a limit the user can change
            System.err.println("error: out of memory (" + e.getMessage() + "). Lower the batch (--batch, --render-batch, "
                    + "ATLAS_BATCH_MEMORY_MB, default 1024) or raise the limits (ATLAS_JAVA_OPTS=-Xmx4g, ATLAS_MAXBYTES, "
                    + "ATLAS_MAXPHYSICAL); the stage resumes where it stopped.");
            return 3;
        }
    }

    static boolean isUserError(Throwable e) {
        return e instanceof UserError || e instanceof DataFormatException || e instanceof FashionMnist.MissingDataException
                || e instanceof SameDiffConverter.UnsupportedLayerException || e instanceof NetGraph.UnknownLayerException
                || e instanceof NoSuchFileException;
    }

    static String message(Throwable e) {
        if (e instanceof NoSuchFileException n) return "file not found: " + n.getFile();
        return e.getMessage();
    }
}
