package org.atlas4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No import cycle between the packages of src/main/java: each package can be read, tested and changed knowing only the
 * packages below it. Reads every reference to {@code org.atlas4j.<package>.<Type>} outside comments and strings
 * (imports and fully qualified names alike); a type's own package is the folder it is in.
 */
@org.atlas4j.UnitTest
class PackageCyclesTest {
    static final Path MAIN = Path.of(System.getProperty("atlas4j.cycles.src", "src/main/java"));
    static final Pattern REFERENCE = Pattern.compile("\\borg\\.atlas4j\\.((?:[a-z_][a-z0-9_]*\\.)*[a-z_][a-z0-9_]*)\\.(?:[A-Z*])");

    @Test
    void mainCodeHasNoPackageCycle() throws IOException {
        Map<String, Set<String>> graph = dependencies(MAIN.resolve("org/atlas4j"));
        assertTrue(graph.size() > 10, "found only " + graph.keySet() + " under " + MAIN.toAbsolutePath());
        List<String> cycle = findCycle(graph);
        assertTrue(cycle.isEmpty(), "package cycle: " + String.join(" → ", cycle)
                + " (move the shared type below both packages, or pass a plain record instead of the other package's type)");
    }

    /** The detector itself: a cycle through a fully qualified name and an import is found and named, comments are not. */
    @Test
    void findsACycleAndNamesItsPath(@TempDir Path root) throws IOException {
        write(root, "a/A.java", "package org.atlas4j.a;\nimport org.atlas4j.b.B;\n// org.atlas4j.c.C in a comment\nclass A {}\n");
        write(root, "b/B.java", "package org.atlas4j.b;\nclass B { Object c = new org.atlas4j.c.C(); String s = \"org.atlas4j.a.A\"; }\n");
        write(root, "c/C.java", "package org.atlas4j.c;\nimport org.atlas4j.a.*;\nclass C {}\n");
        write(root, "d/D.java", "package org.atlas4j.d;\nimport org.atlas4j.a.A;\nclass D {}\n");
        Map<String, Set<String>> graph = dependencies(root);
        assertEquals(Set.of("b"), graph.get("a"));
        assertEquals(Set.of("c"), graph.get("b"));
        assertEquals(List.of("a", "b", "c", "a"), findCycle(graph));
        Files.writeString(root.resolve("c/C.java"), "package org.atlas4j.c;\n/* import org.atlas4j.a.A; */\nclass C {}\n");
        assertEquals(List.of(), findCycle(dependencies(root)));
    }

    private static void write(Path root, String rel, String text) throws IOException {
        Files.createDirectories(root.resolve(rel).getParent());
        Files.writeString(root.resolve(rel), text);
    }

    /** package (relative to org.atlas4j, dotted) → the other packages its code names. */
    static Map<String, Set<String>> dependencies(Path base) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (var walk = Files.walk(base)) {
            for (Path f : walk.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = base.relativize(f.getParent());
                String pkg = rel.toString().replace(f.getFileSystem().getSeparator(), ".");
                Set<String> deps = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = REFERENCE.matcher(code(Files.readString(f)));
                while (m.find()) if (!m.group(1).equals(pkg)) deps.add(m.group(1));
            }
        }
        return graph;
    }

    /** The source without comments, string and char literals (text blocks included): what the compiler resolves. */
    static String code(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            if (src.startsWith("//", i)) {
                while (i < n && src.charAt(i) != '\n') i++;
            } else if (src.startsWith("/*", i)) {
                int end = src.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (src.startsWith("\"\"\"", i)) {
                int end = src.indexOf("\"\"\"", i + 3);
                i = end < 0 ? n : end + 3;
                out.append("\"\"");
            } else if (src.charAt(i) == '"' || src.charAt(i) == '\'') {
                char q = src.charAt(i++);
                while (i < n && src.charAt(i) != q) i += src.charAt(i) == '\\' ? 2 : 1;
                i++;
                out.append(q).append(q);
            } else {
                out.append(src.charAt(i++));
            }
        }
        return out.toString();
    }

    /** One cycle as a path that starts and ends at the same package, or empty when the graph has none. */
    static List<String> findCycle(Map<String, Set<String>> graph) {
        Map<String, Integer> state = new TreeMap<>(); // absent: unvisited; 1: on the current path; 2: done
        for (String start : graph.keySet()) {
            if (state.containsKey(start)) continue;
            Deque<String> path = new ArrayDeque<>();
            List<String> cycle = visit(start, graph, state, path);
            if (!cycle.isEmpty()) return cycle;
        }
        return List.of();
    }

    private static List<String> visit(String p, Map<String, Set<String>> graph, Map<String, Integer> state, Deque<String> path) {
        state.put(p, 1);
        path.addLast(p);
        for (String q : graph.getOrDefault(p, Set.of())) {
            Integer s = state.get(q);
            if (s != null && s == 1) {
                List<String> onPath = new ArrayList<>(path);
                List<String> cycle = new ArrayList<>(onPath.subList(onPath.indexOf(q), onPath.size()));
                cycle.add(q);
                return cycle;
            }
            if (s == null) {
                List<String> c = visit(q, graph, state, path);
                if (!c.isEmpty()) return c;
            }
        }
        path.removeLast();
        state.put(p, 2);
        return List.of();
    }
}
