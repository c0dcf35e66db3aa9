package rasd.esanalysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/** Lucene's ArabicAnalyzer with its default stop words: what the full distribution's {@code arabic} analyzer is. */
@NamedComponent("arabic")
public class ArabicAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new ArabicAnalyzer();
    }
}
