package org.atlas4j;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * A fast test of one class or stage on small in-memory nets and data: what {@code ./atlas test --unit}
 * ({@code mvn test -Dgroups=unit}) runs in the edit loop. Every test class carries exactly one of {@link UnitTest},
 * {@link IntegrationTest}, {@link BrowserTest} ({@link TestTagsTest} checks it).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(UnitTest.TAG)
public @interface UnitTest {
    String TAG = "unit";
}
