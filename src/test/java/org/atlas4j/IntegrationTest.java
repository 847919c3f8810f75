package org.atlas4j;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * A test of whole commands, child JVMs or processes, real-size networks or run folders, or one that takes more than
 * about ten seconds: run by {@code ./atlas test} (and CI), left out of {@code ./atlas test --unit}. Select alone with
 * {@code mvn test -Dgroups=integration}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(IntegrationTest.TAG)
public @interface IntegrationTest {
    String TAG = "integration";
}
