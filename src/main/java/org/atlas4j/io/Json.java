package org.atlas4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The project's JSON settings in one place: indented output (files are meant to be read and diffed by people)
 * and tolerance of unknown properties (so older readers accept files from newer versions).
 */
public final class Json {
    /** Shared and thread-safe once configured; do not reconfigure it. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** AtomicFiles owns the stream, so Jackson must not close it. */
    private static final ObjectWriter FILE_WRITER = MAPPER.writer().without(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private Json() {
    }

    /** Writes {@code value} as indented JSON (with a trailing newline), atomically. */
    public static void write(Path file, Object value) {
        Objects.requireNonNull(file, "file");
        try {
            AtomicFiles.write(file, out -> {
                FILE_WRITER.writeValue(out, value);
                out.write('\n');
            });
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof JsonProcessingException jpe) {
                String what = value == null ? "null" : value.getClass().getName();
                throw new IllegalArgumentException("cannot write " + what + " as JSON to " + file + ": "
                        + oneLine(jpe.getOriginalMessage()), jpe);
            }
            throw e;
        }
    }

    /** Reads {@code file} as {@code type}; malformed or missing files raise {@link DataFormatException}. */
    public static <T> T read(Path file, Class<T> type) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(type, "type");
        try (InputStream in = Files.newInputStream(file)) {
            return MAPPER.readValue(in, type);
        } catch (NoSuchFileException e) {
            throw new DataFormatException("JSON file not found: " + file, e);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String at = loc == null || loc.getLineNr() < 0 ? ""
                    : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new DataFormatException("JSON file " + file + " is not a valid " + type.getSimpleName() + at + ": "
                    + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file + ": " + e, e);
        }
    }

    /** A message on one line: line breaks (YAML's parser quotes the offending lines) become spaces. */
    public static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    /** "at line L, column C: what" on one line, for a parse error of a JSON or YAML file. */
    public static String describe(JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        String at = loc == null || loc.getLineNr() < 0 ? "" : "at line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ": ";
        return at + oneLine(e.getOriginalMessage());
    }

    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    /** A stable one-line JSON string (sorted keys), used to compare stage options between runs. */
    public static String canonical(Object value) {
        try {
            return CANONICAL.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialize " + value.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
