/**
 * Our SLF4J binding ({@link org.atlas4j.util.logging.AtlasLoggerProvider}, registered through
 * {@code META-INF/services/org.slf4j.spi.SLF4JServiceProvider}). DL4J, ND4J, JavaCPP and Smile log through SLF4J:
 * warnings and errors go to stderr, their info chatter is hidden ({@code -Datlas4j.log=info} or {@code debug} shows
 * everything). Info messages can still be observed by a listener: Smile's UMAP has no progress callback but logs each
 * epoch, so the reduce stage turns those messages into a progress bar. Reads and writes no files.
 */
package org.atlas4j.util.logging;
