package org.atlas4j.io;

/**
 * A data file is missing, malformed or truncated. Unchecked so that loaders can be used in streams and
 * lambdas; the message is one line and names the file.
 */
public final class DataFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataFormatException(String message) {
        super(oneLine(message));
    }

    public DataFormatException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** Messages quote file contents (a header, a parser's excerpt): their control characters would break the line. */
    private static String oneLine(String s) {
        return s == null ? null : s.replaceAll("\\s*\\R\\s*", " ").replaceAll("\\p{Cntrl}", " ");
    }
}
