package org.atlas4j;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * A test that drives headless Chromium (the viewer). On a class: the class's tag. On a method of an
 * {@link IntegrationTest} class: that method needs Chromium besides the class's run folder (the viewer test shares
 * {@code PipelineIntegrationTest}'s run), so {@code -DexcludedGroups=browser} leaves out just the browser.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag(BrowserTest.TAG)
public @interface BrowserTest {
    String TAG = "browser";
}
