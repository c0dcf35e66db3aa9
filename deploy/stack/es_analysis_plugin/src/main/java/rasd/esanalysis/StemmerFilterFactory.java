package rasd.esanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * The full distribution's {@code stemmer} filter, for the one language the index uses:
 * {@code possessive_english} (Lucene's EnglishPossessiveFilter: Iran's -> Iran). Any other
 * language is refused when used rather than silently analyzed differently from the full distribution.
 */
@NamedComponent("stemmer")
public class StemmerFilterFactory implements TokenFilterFactory {
    private final String language;

    @Inject
    public StemmerFilterFactory(StemmerSettings settings) {
        this.language = settings.language();
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        if ("possessive_english".equalsIgnoreCase(language) || "possessiveEnglish".equalsIgnoreCase(language)) {
            return new EnglishPossessiveFilter(tokenStream);
        }
        throw new IllegalArgumentException(
            "stemmer language [" + language + "] is not provided by the rasd-analysis plugin (only possessive_english)"
        );
    }
}
