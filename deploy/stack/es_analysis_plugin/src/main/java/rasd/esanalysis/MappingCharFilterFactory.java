package rasd.esanalysis;

import java.io.Reader;
import java.util.List;

import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.CharFilterFactory;

/**
 * Lucene's MappingCharFilter configured like the full distribution's {@code mapping} char filter:
 * rules {@code "key => value"}, where key and value may use the escapes {@code \\uXXXX}, {@code \\n},
 * {@code \\t}, {@code \\r}, {@code \\b}, {@code \\f} and {@code \\\\}; the value may be empty.
 */
@NamedComponent("mapping")
public class MappingCharFilterFactory implements CharFilterFactory {
    private final NormalizeCharMap map;

    /**
     * Elasticsearch also builds every plugin char filter without settings for each index (as the
     * pre-built global filter of that name): that must not fail, so missing rules are an error
     * only when the filter is used.
     */
    @Inject
    public MappingCharFilterFactory(MappingSettings settings) {
        List<String> rules = settings.mappings();
        this.map = rules == null || rules.isEmpty() ? null : buildMap(rules);
    }

    static NormalizeCharMap buildMap(List<String> rules) {
        NormalizeCharMap.Builder builder = new NormalizeCharMap.Builder();
        for (String rule : rules) {
            int arrow = rule.indexOf("=>");
            if (arrow < 0) {
                throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: expected key => value");
            }
            String key = unescape(rule.substring(0, arrow).strip(), rule);
            String value = unescape(rule.substring(arrow + 2).strip(), rule);
            if (key.isEmpty()) {
                throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: empty key");
            }
            builder.add(key, value);
        }
        return builder.build();
    }

    static String unescape(String text, String rule) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (++i >= text.length()) {
                throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: dangling backslash");
            }
            char e = text.charAt(i);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    if (i + 4 >= text.length()) {
                        throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: short \\u escape");
                    }
                    try {
                        out.append((char) Integer.parseInt(text.substring(i + 1, i + 5), 16));
                    } catch (NumberFormatException ex) {
                        throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: bad \\u escape", ex);
                    }
                    i += 4;
                }
                default -> out.append(e);
            }
        }
        return out.toString();
    }

    @Override
    public Reader create(Reader reader) {
        if (map == null) {
            throw new IllegalArgumentException("mapping char filter requires [mappings] (mappings_path is not supported here)");
        }
        return new MappingCharFilter(map, reader);
    }

    @Override
    public Reader normalize(Reader reader) {
        return create(reader);
    }
}
