package org.atlas4j.viewer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * {@code ./atlas serve <run>}: the run folder over HTTP on localhost only (the viewer also opens from file://; this is
 * for browsers or setups that restrict local files). Read-only, no directory listings, nothing outside the run folder.
 */
public final class RunServer implements AutoCloseable {
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js",
            "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "png", "image/png", "svg", "image/svg+xml",
            "json", "application/json", "txt", "text/plain; charset=utf-8");

    private final HttpServer server;
    private final Path root;

    /** @param port 0 for any free port */
    public RunServer(Path runDir, int port) throws IOException {
        this.root = runDir.toAbsolutePath().normalize();
        if (!Files.exists(root.resolve("index.html"))) {
            throw new org.atlas4j.util.UserError(runDir + " has no index.html: run ./atlas viewer " + runDir + " first");
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = java.net.URLDecoder.decode(ex.getRequestURI().getPath(), java.nio.charset.StandardCharsets.UTF_8);
            Path file = root.resolve(path.equals("/") ? "index.html" : path.substring(1)).normalize();
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            // dot files (the run lock names a pid and a command line) are not part of the page
            if (!file.startsWith(root) || !Files.isRegularFile(file) || file.getFileName().toString().startsWith(".")) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            String name = file.getFileName().toString();
            String ext = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            ex.getResponseHeaders().set("Content-Type", TYPES.getOrDefault(ext, "application/octet-stream"));
            long size = Files.size(file);
            if ("HEAD".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(200, -1);
                return;
            }
            ex.sendResponseHeaders(200, size);
            try (OutputStream out = ex.getResponseBody()) {
                Files.copy(file, out);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
