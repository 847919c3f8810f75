package org.atlas4j.data;

import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.util.Progress;

/** Gets the embedded default dataset onto the machine when it is missing and we are allowed to. */
public final class DataInstaller {
    private DataInstaller() {
    }

    public static void ensureFashionMnist(Path dir) throws Exception {
        if (FashionMnist.isPresent(dir)) return;
        boolean defaultDir = dir.toAbsolutePath().normalize().equals(FashionMnist.DEFAULT_DIR);
        boolean root = "root".equals(System.getProperty("user.name"));
        boolean apt = Files.isExecutable(Path.of("/usr/bin/apt-get"));
        if (defaultDir && root && apt) {
            Progress.info("Fashion-MNIST is missing: installing the Debian package " + FashionMnist.DEBIAN_PACKAGE + " ...");
            int rc = new ProcessBuilder("apt-get", "install", "-y", FashionMnist.DEBIAN_PACKAGE).inheritIO().start().waitFor();
            if (rc != 0) {
                rc = new ProcessBuilder("sh", "-c", "apt-get update && apt-get install -y " + FashionMnist.DEBIAN_PACKAGE)
                        .inheritIO().start().waitFor();
            }
            if (rc != 0) {
                throw new FashionMnist.MissingDataException("apt-get could not install " + FashionMnist.DEBIAN_PACKAGE
                        + " (exit " + rc + "). Run:  sudo apt-get update && sudo apt-get install " + FashionMnist.DEBIAN_PACKAGE);
            }
        }
        FashionMnist.requirePresent(dir);
    }
}
