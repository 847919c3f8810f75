package org.atlas4j.io;

/**
 * A data file is missing, malformed or truncated. Unchecked so that loaders can be used in streams and
 * lambdas; the message is one line and names the file.
 */
public final class DataFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
