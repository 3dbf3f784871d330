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
{{- include "rivulet.validateSecurity" . }}
{{- end }}

{{/* Security checks: TLS material, users, the admin of the ACL Job, listeners under auth. */}}
{{- define "rivulet.validateSecurity" -}}
{{- $tls := .Values.tls }}
{{- $auth := .Values.auth }}
{{- if $tls.enabled }}
{{- if and (not $tls.certManager.enabled) (not $tls.existingSecret) }}
{{- fail "tls.enabled needs a certificate: set tls.existingSecret (a kubernetes.io/tls Secret) or tls.certManager.enabled with tls.certManager.issuerRef.name." }}
{{- end }}
{{- if and $tls.certManager.enabled (not $tls.certManager.issuerRef.name) }}
{{- fail "tls.certManager.enabled needs tls.certManager.issuerRef.name (the Issuer or ClusterIssuer that signs the broker's certificate)." }}
{{- end }}
{{- else if or $tls.certManager.enabled (ne $tls.clientAuth "none") }}
{{- fail "tls.certManager.enabled and tls.clientAuth take effect only with tls.enabled=true." }}
{{- end }}
{{- if $auth.enabled }}
{{- if and (has "PLAIN" $auth.mechanisms) (not $tls.enabled) }}
{{- fail "auth.mechanisms has PLAIN, which sends the password itself: enable tls (SASL_SSL) or use SCRAM only." }}
{{- end }}
{{- if and (gt (len $auth.users) 0) (not $auth.usersSecret) }}
{{- fail "auth.users needs auth.usersSecret: a Secret with one key per user holding the password." }}
{{- end }}
{{- if and (has "OAUTHBEARER" $auth.mechanisms) (not $auth.oauthbearer.jwksEndpointUrl) }}
{{- fail "auth.mechanisms has OAUTHBEARER: set auth.oauthbearer.jwksEndpointUrl (the identity provider's JWKS) so the broker can check tokens." }}
{{- end }}
{{- if gt (len $auth.acls) 0 }}
{{- if not (include "rivulet.toolMechanism" .) }}
{{- fail "auth.acls are applied by a Job that logs in as auth.adminUser with SCRAM or PLAIN: add SCRAM-SHA-512 to auth.mechanisms." }}
{{- end }}
{{- if not $auth.adminUser }}
{{- fail "auth.acls needs auth.adminUser: the user (one of auth.users) the ACL Job connects as." }}
{{- end }}
{{- $found := false }}
{{- range $auth.users }}{{ if eq .name $auth.adminUser }}{{ $found = true }}{{ end }}{{ end }}
{{- if not $found }}
{{- fail (printf "auth.adminUser %s is not in auth.users: the ACL Job needs its password from auth.usersSecret." $auth.adminUser) }}
{{- end }}
{{- end }}
{{- range .Values.listeners.extra }}
{{- if and (has .protocol (list "PLAINTEXT" "SSL")) (ne .host "127.0.0.1") }}
{{- fail (printf "listeners.extra %s is %s on %s while auth.enabled: every listener other pods can reach must authenticate (SASL_SSL or SASL_PLAINTEXT), or bind it to 127.0.0.1." .name .protocol .host) }}
{{- end }}
{{- end }}
{{- else if or (gt (len $auth.users) 0) (gt (len $auth.acls) 0) }}
{{- fail "auth.users and auth.acls take effect only with auth.enabled=true." }}
{{- end }}
{{- range .Values.listeners.extra }}
{{- if and (has .protocol (list "SSL" "SASL_SSL")) (not $tls.enabled) }}
{{- fail (printf "listeners.extra %s is %s: it needs tls.enabled (the broker's certificate)." .name .protocol) }}
{{- end }}
{{- if and (has .protocol (list "SASL_PLAINTEXT" "SASL_SSL")) (not $auth.enabled) }}
{{- fail (printf "listeners.extra %s is %s: it needs auth.enabled (users to log in with)." .name .protocol) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The client listener's security protocol, from tls.enabled and auth.enabled. */}}
{{- define "rivulet.kafkaProtocol" -}}
{{- if .Values.auth.enabled }}{{ if .Values.tls.enabled }}SASL_SSL{{ else }}SASL_PLAINTEXT{{ end }}
{{- else if .Values.tls.enabled }}SSL{{ else }}PLAINTEXT{{ end }}
{{- end }}

{{/* "true" when the broker runs named listeners (TLS, SASL or extra listeners); empty for the plain host/port listener. */}}
{{- define "rivulet.namedListeners" -}}
{{- if or .Values.tls.enabled .Values.auth.enabled (gt (len .Values.listeners.extra) 0) }}true{{ end }}
{{- end }}

{{/* The Secret holding the broker's certificate. */}}
{{- define "rivulet.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled }}{{ default (printf "%s-tls" (include "rivulet.fullname" .)) .Values.tls.certManager.secretName }}{{ else }}{{ .Values.tls.existingSecret }}{{ end }}
{{- end }}

{{/* listeners= for the broker: the client listener on every address, then the extra ones. */}}
{{- define "rivulet.listenersSetting" -}}
{{- $p := include "rivulet.kafkaProtocol" . }}
{{- $out := list (printf "%s://0.0.0.0:%d" $p (int .Values.listeners.kafka.port)) }}
{{- range .Values.listeners.extra }}{{ $out = append $out (printf "%s://%s:%d" .name .host (int .port)) }}{{ end }}
{{- join "," $out }}
{{- end }}

{{/* listener.security.protocol.map for the named listeners. */}}
{{- define "rivulet.protocolMap" -}}
{{- $p := include "rivulet.kafkaProtocol" . }}
{{- $out := list (printf "%s:%s" $p $p) }}
{{- range .Values.listeners.extra }}{{ $out = append $out (printf "%s:%s" .name .protocol) }}{{ end }}
{{- join "," $out }}
{{- end }}

{{/* advertised.listeners after the client listener's advertised address (.host, .port): extra listeners on 127.0.0.1 advertise it, the others the pod's DNS name. */}}
{{- define "rivulet.advertisedExtra" -}}
{{- $root := .root }}
{{- range $root.Values.listeners.extra }},{{ .name }}://{{ if eq .host "127.0.0.1" }}127.0.0.1{{ else }}$(POD_NAME).{{ include "rivulet.headlessName" $root }}.$(POD_NAMESPACE).svc.{{ $root.Values.clusterDomain }}{{ end }}:{{ .port }}{{ end }}
{{- end }}

{{/* SCRAM mechanisms users get credentials for: those enabled (PLAIN checks against SCRAM-SHA-512). */}}
{{- define "rivulet.scramMechanisms" -}}
{{- $out := list }}
{{- range .Values.auth.mechanisms }}{{ if hasPrefix "SCRAM-" . }}{{ $out = append $out . }}{{ end }}{{ end }}
{{- if eq (len $out) 0 }}{{ $out = list "SCRAM-SHA-512" }}{{ end }}
{{- join "," $out }}
{{- end }}

{{/* The SASL mechanism the chart's own tools (ACL Job) log in with: the first SCRAM one enabled, else PLAIN. */}}
{{- define "rivulet.toolMechanism" -}}
{{- $scram := list }}
{{- range .Values.auth.mechanisms }}{{ if hasPrefix "SCRAM-" . }}{{ $scram = append $scram . }}{{ end }}{{ end }}
{{- if gt (len $scram) 0 }}{{ first $scram }}{{ else if has "PLAIN" .Values.auth.mechanisms }}PLAIN{{ end }}
{{- end }}

{{/* Advertised external port of pod ordinal .i: its node port, or the LoadBalancer port. */}}
{{- define "rivulet.externalPort" -}}
{{- if eq .ext.type "NodePort" }}
{{- index .ext.nodePorts .i | int }}
{{- else }}
{{- .ext.port | int }}
{{- end }}
{{- end }}

{{/* Container and Service port name of an extra listener: lower case, "-" for "_", at most 15 characters. */}}
{{- define "rivulet.listenerPortName" -}}
{{- .name | lower | replace "_" "-" | trunc 15 | trimSuffix "-" }}
{{- end }}
