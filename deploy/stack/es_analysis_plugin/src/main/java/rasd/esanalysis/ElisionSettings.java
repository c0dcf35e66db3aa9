package rasd.esanalysis;

import java.util.List;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/** Settings of the {@code elision} filter: inline {@code articles} ({@code articles_path} is not supported). */
@AnalysisSettings
public interface ElisionSettings {
    @ListSetting(path = "articles")
    List<String> articles();

    /** As in the full distribution: true makes the article match ignore case. */
    @BooleanSetting(path = "articles_case", defaultValue = false)
    boolean articlesCase();
}
