package org.atlas4j.provenance;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

import org.atlas4j.io.Json;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One stage's entry in provenance.json: what it measured ({@code facts}, different for every stage, so kept as JSON
 * values), how long it took and when it finished. Written flat — the facts sorted by name, then {@code seconds} and
 * {@code finished} — as earlier versions wrote it, so old run folders read back unchanged.
 */
public record StageRecord(Map<String, JsonNode> facts, double seconds, String finished) {
    public StageRecord {
        // sorted: facts often come from Map.of, whose order changes from one JVM to the next
        facts = Collections.unmodifiableMap(new TreeMap<>(facts == null ? Map.of() : facts));
    }

    /** A record of plain Java facts (numbers, strings, lists, records), converted to JSON values here. */
    public static StageRecord of(Map<String, ?> facts, double seconds, String finished) {
        Map<String, JsonNode> json = new TreeMap<>();
        facts.forEach((k, v) -> json.put(k, Json.MAPPER.valueToTree(v)));
        return new StageRecord(json, seconds, finished);
    }

    /** The fact {@code name}, or a missing node (never null). */
    public JsonNode fact(String name) {
        JsonNode n = facts.get(name);
        return n == null ? Json.MAPPER.missingNode() : n;
    }

    @JsonValue
    ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        facts.forEach(o::set);
        o.put("seconds", seconds);
        o.put("finished", finished);
        return o;
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static StageRecord fromJson(ObjectNode o) {
        Map<String, JsonNode> facts = new TreeMap<>();
        o.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("seconds") && !e.getKey().equals("finished")) facts.put(e.getKey(), e.getValue());
        });
        return new StageRecord(facts, o.path("seconds").asDouble(), o.path("finished").isTextual() ? o.get("finished").asText() : null);
    }
}
