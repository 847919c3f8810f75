/**
 * Small services every stage uses; no stage logic and no files of its own. {@link org.atlas4j.util.UserError}: a
 * problem with the user's input, printed by the CLI as one line without a stack trace (exit code 2).
 * {@link org.atlas4j.util.Finite}: refuses NaN and ±Infinity in anything about to be written (activations, layouts,
 * cell vectors, icons, attribution maps), naming the sample, cell or image it came from.
 * {@link org.atlas4j.util.Progress}: progress bars with rate and ETA for long stages (in place on a terminal, a line
 * every few seconds otherwise). {@link org.atlas4j.util.SymmetricEigen}: symmetric eigen-decomposition by LAPACK's
 * {@code dsyev} through ND4J (render's whitening, UMAP's PCA start). {@link org.atlas4j.util.NativeMemory}: glibc's
 * {@code malloc_trim} after large native buffers are freed. {@link org.atlas4j.util.MemoryTrace}: resident set and heap
 * once a second on stderr, when {@code -Datlas4j.memoryTrace=true} ({@code ATLAS_MEMORY_TRACE}) asks for it.
 * {@link org.atlas4j.util.KillPoint}: a test hook that stops the process at a named point for the kill -9 resume test;
 * without its system property it does nothing.
 */
package org.atlas4j.util;
