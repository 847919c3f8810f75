# Which JDK atlas4j builds and runs with; sourced by ./atlas and .ci/run.
# Java 25: Smile 4.x (the UMAP that keeps every point) needs Java 21+. Override with ATLAS_JAVA_HOME.
for candidate in "${ATLAS_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64; do
  if [[ -n "$candidate" && -x "$candidate/bin/java" ]]; then
    export JAVA_HOME="$candidate"
    break
  fi
done
if [[ -z "${JAVA_HOME:-}" || ! -x "$JAVA_HOME/bin/java" ]] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
  echo "atlas4j needs a Java 25 JDK (looked in /usr/lib/jvm/temurin-25-jdk-amd64; set ATLAS_JAVA_HOME to another)." >&2
  echo "On Debian/Ubuntu: install Temurin 25 (https://adoptium.net) or openjdk-25-jdk where your release has it." >&2
  exit 1
fi
export PATH="$JAVA_HOME/bin:$PATH"
# jansi.noreset: Debian's Maven ships Jansi without its native library, so Jansi cannot tell a pipe from a terminal and
# writes a colour reset (ESC[0m) at exit whatever -B or -Dstyle.color=never say; this stops those stray bytes.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow -Djansi.noreset=true"
