package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Render switches reach the run config (and the render options it records). */
@org.atlas4j.UnitTest
class RunOptionsTest {
    @CommandLine.Command
    static final class Holder {
        @CommandLine.Mixin
        RunOptions options;
    }

    @Test
    void noTransformsAndNoWhitenTurnThemOff() {
        Holder h = new Holder();
        new CommandLine(h).parseArgs("--no-transforms", "--no-whiten");
        assertFalse(h.options.resolve().render.transforms);
        assertFalse(h.options.resolve().render.whiten);
        Holder d = new Holder();
        new CommandLine(d).parseArgs();
        assertTrue(d.options.resolve().render.transforms, "the paper's transforms are the default");
        assertTrue(d.options.resolve().render.whiten);
    }
}
