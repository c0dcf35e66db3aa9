package rasd.esanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fa.PersianNormalizationFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's PersianNormalizationFilter: Farsi yeh and keheh to Arabic yeh and kaf, heh forms. */
@NamedComponent("persian_normalization")
public class PersianNormalizationFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new PersianNormalizationFilter(tokenStream);
    }

    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return create(tokenStream);
    }
}
