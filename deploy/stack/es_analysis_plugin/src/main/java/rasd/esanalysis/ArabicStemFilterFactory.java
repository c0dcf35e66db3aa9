package rasd.esanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's light Arabic stemmer (prefixes such as و/ال/بال, common suffixes). */
@NamedComponent("arabic_stem")
public class ArabicStemFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ArabicStemFilter(tokenStream);
    }
}
