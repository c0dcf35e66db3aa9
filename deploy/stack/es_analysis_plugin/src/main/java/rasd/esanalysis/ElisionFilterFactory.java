package rasd.esanalysis;

import java.util.List;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's ElisionFilter: drops a leading article and its apostrophe (l'avion -> avion, d’Iran -> Iran). */
@NamedComponent("elision")
public class ElisionFilterFactory implements TokenFilterFactory {
    private final CharArraySet articles;

    /** Built without settings for every index too (see MappingCharFilterFactory): fail on use, not here. */
    @Inject
    public ElisionFilterFactory(ElisionSettings settings) {
        List<String> words = settings.articles();
        this.articles = words == null || words.isEmpty() ? null : new CharArraySet(words, settings.articlesCase());
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        if (articles == null) {
            throw new IllegalArgumentException("elision filter requires [articles] (articles_path is not supported here)");
        }
        return new ElisionFilter(tokenStream, articles);
    }

    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return create(tokenStream);
    }
}
