package org.atlas4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.platform.commons.annotation.Testable;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ReflectionSupport;

/**
 * Every test class carries exactly one of the tags {@code unit}, {@code integration}, {@code browser}, so
 * {@code ./atlas test --unit} ({@code -Dgroups=unit}) runs a known set and a new untagged test cannot silently drop out
 * of it (an untagged class runs in neither {@code -Dgroups=unit} nor {@code -Dgroups=integration}). A method may add
 * only {@code browser}, and only in an integration class. Reads the compiled test classes, so it needs no list.
 */
@UnitTest
class TestTagsTest {
    static final Set<String> TAGS = Set.of(UnitTest.TAG, IntegrationTest.TAG, BrowserTest.TAG);

    @Test
    void everyTestClassCarriesExactlyOneOfTheThreeTags() throws Exception {
        List<Class<?>> classes = testClasses();
        assertTrue(classes.contains(TestTagsTest.class), "the scan of " + testClassesDir() + " missed this class");
        List<String> problems = new ArrayList<>();
        for (Class<?> c : classes) problems.addAll(problems(c));
        assertTrue(problems.isEmpty(), problems.size() + " test class(es) tagged wrongly:\n  " + String.join("\n  ", problems)
                + "\nAnnotate each test class with one of @org.atlas4j.UnitTest (fast: small nets and data), "
                + "@org.atlas4j.IntegrationTest (whole commands, child JVMs, real-size networks, run folders, > ~10 s) or "
                + "@org.atlas4j.BrowserTest (headless Chromium).");
    }

    @Test
    void theCheckNamesUntaggedDoublyTaggedMisspelledAndMethodTaggedClasses() {
        assertEquals(List.of(), problems(Tagged.class));
        assertEquals(List.of(), problems(IntegrationWithBrowserMethod.class));
        assertEquals(List.of(), problems(NoTests.class));
        assertEquals(1, problems(Untagged.class).size());
        assertTrue(problems(Untagged.class).get(0).contains("no tag"), problems(Untagged.class).toString());
        assertEquals(1, problems(TwoTags.class).size());
        assertTrue(problems(TwoTags.class).get(0).contains("[integration, unit]"), problems(TwoTags.class).toString());
        assertEquals(1, problems(Misspelled.class).size());
        assertEquals(1, problems(UnitWithIntegrationMethod.class).size());
        assertEquals(1, problems(UnitWithBrowserMethod.class).size());
    }

    /** What is wrong with a class's tags, one line each; empty for a class without tests. */
    static List<String> problems(Class<?> c) {
        if (Modifier.isAbstract(c.getModifiers()) || c.isAnnotation() || c.isInterface()) return List.of();
        List<Method> tests = ReflectionSupport.findMethods(c, m -> AnnotationSupport.isAnnotated(m, Testable.class),
                HierarchyTraversalMode.TOP_DOWN);
        if (tests.isEmpty()) return List.of();
        List<String> out = new ArrayList<>();
        Set<String> tags = tagNames(c);
        if (tags.isEmpty()) {
            out.add(c.getName() + ": no tag");
        } else if (tags.size() > 1 || !TAGS.containsAll(tags)) {
            out.add(c.getName() + ": tags " + tags + ", want exactly one of " + new TreeSet<>(TAGS));
        }
        for (Method m : tests) {
            Set<String> extra = tagNames(m);
            if (extra.isEmpty()) continue;
            if (!extra.equals(Set.of(BrowserTest.TAG)) || !tags.equals(Set.of(IntegrationTest.TAG))) {
                out.add(c.getName() + "." + m.getName() + ": method tags " + extra + " on a class tagged " + tags
                        + "; a method may add only browser, in an integration class (move the test to a class of its tag)");
            }
        }
        return out;
    }

    private static Set<String> tagNames(java.lang.reflect.AnnotatedElement e) {
        Set<String> names = new TreeSet<>();
        for (Tag t : AnnotationSupport.findRepeatableAnnotations(e, Tag.class)) names.add(t.value());
        return names;
    }

    /** Every class compiled from src/test/java, except this test's own fixtures below. */
    static List<Class<?>> testClasses() throws Exception {
        Path root = testClassesDir();
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                String rel = root.relativize(f).toString();
                String name = rel.substring(0, rel.length() - ".class".length()).replace(f.getFileSystem().getSeparator(), ".");
                if (name.startsWith(TestTagsTest.class.getName() + "$") || name.endsWith("package-info")) continue;
                out.add(Class.forName(name, false, TestTagsTest.class.getClassLoader()));
            }
        }
        return out;
    }

    private static Path testClassesDir() throws URISyntaxException {
        return Path.of(TestTagsTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    // Fixtures for the check itself. Private, so JUnit does not run them as test classes.

    @UnitTest
    private static final class Tagged {
        @Test
        void t() {
        }
    }

    @IntegrationTest
    private static final class IntegrationWithBrowserMethod {
        @Test
        @BrowserTest
        void t() {
        }
    }

    private static final class NoTests {
        void helper() {
        }
    }

    private static final class Untagged {
        @Test
        void t() {
        }
    }

    @UnitTest
    @Tag("integration")
    private static final class TwoTags {
        @Test
        void t() {
        }
    }

    @Tag("unti")
    private static final class Misspelled {
        @Test
        void t() {
        }
    }

    @UnitTest
    private static final class UnitWithIntegrationMethod {
        @Test
        @Tag("integration")
        void t() {
        }
    }

    @UnitTest
    private static final class UnitWithBrowserMethod {
        @Test
        @BrowserTest
        void t() {
        }
    }
}
