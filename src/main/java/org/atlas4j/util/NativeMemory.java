package org.atlas4j.util;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Hands memory that native code freed back to the operating system. Why: libnd4j allocates with the C library's
 * malloc, and glibc keeps freed blocks in its arenas (its mmap threshold rises after the first large free), so a
 * stage's freed session buffers stayed resident under the next stage's new ones — measured on InceptionV3: fidelity's
 * forward session on top of render's freed one lifted a run from 2.8 to 3.2 GB. {@code malloc_trim(0)} after a session
 * is closed returns them; it costs milliseconds and runs only where large buffers were just freed. A no-op where the
 * C library has no {@code malloc_trim} (not glibc) or native access is denied.
 */
public final class NativeMemory {
    private static final MethodHandle TRIM = find();

    private NativeMemory() {
    }

    private static MethodHandle find() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("malloc_trim")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)))
                    .orElse(null);
        } catch (Throwable e) { // no native access or no such symbol: trimming is an optimisation only
            return null;
        }
    }

    /** Returns free native memory to the system; true if the C library released some. */
    public static boolean trim() {
        if (TRIM == null) return false;
        try {
            return (int) TRIM.invokeExact(0L) == 1;
        } catch (Throwable e) {
            return false;
        }
    }
}
