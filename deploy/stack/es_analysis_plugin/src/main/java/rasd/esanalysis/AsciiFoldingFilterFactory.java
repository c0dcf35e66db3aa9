package rasd.esanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's ASCIIFoldingFilter: Latin letters with diacritics to their ASCII base (ğ -> g, é -> e). */
@NamedComponent("asciifolding")
public class AsciiFoldingFilterFactory implements TokenFilterFactory {
    private final boolean preserveOriginal;

    @Inject
    public AsciiFoldingFilterFactory(AsciiFoldingSettings settings) {
        this.preserveOriginal = settings.preserveOriginal();
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
    }

    // normalization must yield exactly one token: never keep the original beside the folded form
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return new ASCIIFoldingFilter(tokenStream, false);
    }
}
