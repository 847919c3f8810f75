package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.viewer.RunServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a run's viewer on http://127.0.0.1:<port>/ until interrupted (the page also opens from file://).")
final class ServeCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Run folder, e.g. atlas-output/fashion-mnist")
    Path run;

    @Option(names = "--port", description = "Port on 127.0.0.1 (default: ${DEFAULT-VALUE}; 0 = any free port)")
    int port = 8080;

    @Override
    public Integer call() throws Exception {
        try (RunServer s = new RunServer(run, port)) {
            System.err.println("serving " + run + " at http://127.0.0.1:" + s.port() + "/ (Ctrl-C to stop)");
            Thread.currentThread().join();
        }
        return 0;
    }
}
