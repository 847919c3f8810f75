package org.atlas4j.util;

/** A problem with the user's input that a clear message explains; the CLI prints it without a stack trace.
 * An IllegalArgumentException so callers of the stage APIs can treat it as one. */
public class UserError extends IllegalArgumentException {
    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
