package rasd.esanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicNormalizationFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's ArabicNormalizationFilter: hamza/alef forms, teh marbuta, alef maksura, tatweel, diacritics. */
@NamedComponent("arabic_normalization")
public class ArabicNormalizationFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ArabicNormalizationFilter(tokenStream);
    }

    // a one-token character mapping: also valid in normalizers and for wildcard/prefix terms
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return create(tokenStream);
    }
}
