package org.atlas4j.util.logging;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Our SLF4J binding. Libraries (DL4J, ND4J, Smile) log through SLF4J; we print warnings and errors to stderr
 * and hide their info chatter, except that info messages can be observed by a listener. Why: Smile's UMAP has no
 * progress callback but logs each epoch, so the reduce stage turns those messages into a real progress bar.
 * Set -Datlas4j.log=info (or debug) to see everything.
 */
public final class AtlasLoggerProvider implements SLF4JServiceProvider {
    private static volatile BiConsumer<String, String> infoListener;
    private static final Level THRESHOLD = parse(System.getProperty("atlas4j.log", "warn"));

    private final ILoggerFactory factory = new Factory();
    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();

    /** Receives (logger name, formatted message) of every info-level message; null to stop. */
    public static void setInfoListener(BiConsumer<String, String> listener) {
        infoListener = listener;
    }

    private static Level parse(String s) {
        try {
            return Level.valueOf(s.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Level.WARN;
        }
    }

    @Override public ILoggerFactory getLoggerFactory() { return factory; }
    @Override public IMarkerFactory getMarkerFactory() { return markers; }
    @Override public MDCAdapter getMDCAdapter() { return mdc; }
    @Override public String getRequestedApiVersion() { return "2.0.99"; }
    @Override public void initialize() { }

    private static final class Factory implements ILoggerFactory {
        private final ConcurrentHashMap<String, Logger> loggers = new ConcurrentHashMap<>();

        @Override
        public Logger getLogger(String name) {
            return loggers.computeIfAbsent(name, AtlasLogger::new);
        }
    }

    private static final class AtlasLogger extends AbstractLogger {
        AtlasLogger(String name) {
            this.name = name;
        }

        private static boolean on(Level l) {
            return l.toInt() >= THRESHOLD.toInt();
        }

        @Override public boolean isTraceEnabled() { return on(Level.TRACE); }
        @Override public boolean isTraceEnabled(Marker m) { return isTraceEnabled(); }
        @Override public boolean isDebugEnabled() { return on(Level.DEBUG); }
        @Override public boolean isDebugEnabled(Marker m) { return isDebugEnabled(); }
        @Override public boolean isInfoEnabled() { return on(Level.INFO) || infoListener != null; }
        @Override public boolean isInfoEnabled(Marker m) { return isInfoEnabled(); }
        @Override public boolean isWarnEnabled() { return on(Level.WARN); }
        @Override public boolean isWarnEnabled(Marker m) { return isWarnEnabled(); }
        @Override public boolean isErrorEnabled() { return true; }
        @Override public boolean isErrorEnabled(Marker m) { return true; }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable t) {
            String msg = MessageFormatter.basicArrayFormat(pattern, args);
            if (level == Level.WARN && isKnownNoise(name, msg)) level = Level.INFO;
            BiConsumer<String, String> l = infoListener;
            if (level == Level.INFO && l != null) l.accept(name, msg);
            if (on(level)) {
                System.err.println("[" + level + "] " + shortName() + ": " + msg);
                if (t != null) t.printStackTrace(System.err);
            }
        }

        /**
         * Warnings that are known, harmless and not actionable by a user: JavaCPP's preset version notice (Smile's
         * ARPACK is built for JavaCPP 1.5.12, DL4J pins 1.5.7; the calls Smile makes work), ND4J's TF-import op
         * table and its reflection on SizeAt. Shown with -Datlas4j.log=info.
         */
        private static boolean isKnownNoise(String logger, String msg) {
            return logger.startsWith("org.bytedeco.javacpp")
                    || logger.equals("org.nd4j.imports.converters.ImportClassMapping")
                    || (logger.endsWith("DifferentialFunction") && msg.startsWith("No fields found for property name"));
        }

        private String shortName() {
            int dot = name.lastIndexOf('.');
            return dot < 0 ? name : name.substring(dot + 1);
        }
    }
}
