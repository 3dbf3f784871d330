{{/* Chart name. */}}
{{- define "rivulet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "rivulet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rivulet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the headless Service (the pods' DNS subdomain). */}}
{{- define "rivulet.headlessName" -}}
{{- printf "%s-headless" (include "rivulet.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "rivulet.labels" -}}
helm.sh/chart: {{ include "rivulet.chart" . }}
{{ include "rivulet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rivulet
{{- end }}

{{/* Labels that select the broker pods (StatefulSet, Services, PDB, monitors, policies). */}}
{{- define "rivulet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rivulet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rivulet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rivulet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rivulet.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "rivulet.priorityClassName" -}}
{{- if .Values.priorityClass.create }}
{{- default (include "rivulet.fullname" .) .Values.priorityClass.name }}
{{- else }}
{{- .Values.priorityClassName }}
{{- end }}
{{- end }}

{{/* Whole CPUs of the container: the CPU limit, else the request; millicores rounded up. */}}
{{- define "rivulet.cpuCount" -}}
{{- $cpu := "" }}
{{- if and .Values.resources.limits .Values.resources.limits.cpu }}
{{- $cpu = toString .Values.resources.limits.cpu }}
{{- else if and .Values.resources.requests .Values.resources.requests.cpu }}
{{- $cpu = toString .Values.resources.requests.cpu }}
{{- end }}
{{- if eq $cpu "" }}
{{- 0 }}
{{- else if hasSuffix "m" $cpu }}
{{- div (add (trimSuffix "m" $cpu | atoi) 999) 1000 }}
{{- else }}
{{- $cpu | float64 | ceil | int }}
{{- end }}
{{- end }}

{{/* UV_THREADPOOL_SIZE: explicit, else max(4, CPUs). */}}
{{- define "rivulet.threadpoolSize" -}}
{{- if gt (int .Values.threadpoolSize) 0 }}
{{- int .Values.threadpoolSize }}
{{- else }}
{{- max 4 (include "rivulet.cpuCount" . | int) }}
{{- end }}
{{- end }}

{{/* A config value as the broker expects it: whole numbers without an exponent. */}}
{{- define "rivulet.configValue" -}}
{{- $v := . }}
{{- if kindIs "float64" $v }}
{{- if eq (float64 (int64 $v)) $v }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else }}
{{- toString $v }}
{{- end }}
{{- end }}

{{/* Container resources: the values given, plus huge pages (requests == limits). */}}
{{- define "rivulet.resources" -}}
{{- $res := deepCopy (default dict .Values.resources) }}
{{- if .Values.hugepages.enabled }}
{{- $key := printf "hugepages-%s" .Values.hugepages.size }}
{{- $req := default dict (get $res "requests") }}
{{- $lim := default dict (get $res "limits") }}
{{- $_ := set $req $key .Values.hugepages.amount }}
{{- $_ := set $lim $key .Values.hugepages.amount }}
{{- $_ := set $res "requests" $req }}
{{- $_ := set $res "limits" $lim }}
{{- end }}
{{- toYaml $res }}
{{- end }}

{{/* Checks the schema cannot express. */}}
{{- define "rivulet.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.scaling.independentBrokers) }}
{{- fail "replicaCount > 1 starts independent brokers that share nothing (no replication, no common metadata). Set scaling.independentBrokers=true if that is what you want; see README.md \"Scaling limits\"." }}
{{- end }}
{{- if .Values.externalAccess.enabled }}
{{- if eq .Values.externalAccess.type "NodePort" }}
{{- if lt (len .Values.externalAccess.nodePorts) (int .Values.replicaCount) }}
{{- fail "externalAccess.type=NodePort needs one entry in externalAccess.nodePorts per replica (the port is advertised to clients)." }}
{{- end }}
{{- else }}
{{- if lt (len .Values.externalAccess.advertisedHosts) (int .Values.replicaCount) }}
{{- fail "externalAccess.type=LoadBalancer needs one entry in externalAccess.advertisedHosts per replica (the address clients are told to use)." }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
{{- fail "Enable metrics.serviceMonitor or metrics.podMonitor, not both (the broker would be scraped twice)." }}
{{- end }}
{{- end }}

{{/* Advertised external port of pod ordinal .i: its node port, or the LoadBalancer port. */}}
{{- define "rivulet.externalPort" -}}
{{- if eq .ext.type "NodePort" }}
{{- index .ext.nodePorts .i | int }}
{{- else }}
{{- .ext.port | int }}
{{- end }}
{{- end }}
