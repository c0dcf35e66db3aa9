package rasd.esanalysis;

import java.util.List;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.ListSetting;

/** Settings of the {@code mapping} char filter: inline rules only ({@code mappings_path} is not supported). */
@AnalysisSettings
public interface MappingSettings {
    @ListSetting(path = "mappings")
    List<String> mappings();
}
