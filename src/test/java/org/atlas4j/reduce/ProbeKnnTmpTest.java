package org.atlas4j.reduce;

import org.junit.jupiter.api.Test;

class ProbeKnnTmpTest {
    @Test
    void probe() throws Exception {
        java.util.Random r = new java.util.Random(3);
        int n = 3000, d = 24;
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() + (i / d % 5));
        float[] y = Reducer.fit(x, n, d, Reducer.Options.paperDefaults(11));
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(y.length * 4);
        for (float v : y) bb.putFloat(v);
        byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(bb.array());
        System.out.println("PROBE-HASH " + java.util.HexFormat.of().formatHex(h));
    }
}
